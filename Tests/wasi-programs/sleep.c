/* Sleeps for argv[1] milliseconds (poll_oneoff with a clock subscription), then exits 0. */
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    usleep((argc > 1 ? atoi(argv[1]) : 1000) * 1000);
    return 0;
}
