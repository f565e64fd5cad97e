// pipe2(2) for Swift: Glibc's module shows it only with _GNU_SOURCE. The process baseline needs
// pipes that are close-on-exec from their creation, or a process spawned concurrently by another
// request could inherit them and hold a pipe open past the end of its owner's response.
#ifndef C_EDGE_PROCESS_H
#define C_EDGE_PROCESS_H

/// pipe2(fds, O_CLOEXEC): 0, or -1 with errno set.
int edge_pipe_cloexec(int fds[2]);

#endif
