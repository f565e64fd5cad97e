#ifndef SHOAL_WORKER_H
#define SHOAL_WORKER_H

// The scheduler worker that owns the calling thread (a thread-local, as the current ring is):
// lets a completion that runs on a worker's thread tell whether the instance it wakes belongs to
// that worker (reached directly) or to another (reached by a message).
void shoal_set_current_worker(void *worker);
void *shoal_current_worker(void);

#endif
