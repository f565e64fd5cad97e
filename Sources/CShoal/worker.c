#include "shoal_worker.h"

static __thread void *current_worker;
void shoal_set_current_worker(void *worker) { current_worker = worker; }
void *shoal_current_worker(void) { return current_worker; }
