// Never finishes: the submission a grading farm must stop. It reads its input and then loops
// forever; only the call's time limit (or fuel) ends it.
#include <stdio.h>

int main(void) {
    volatile unsigned long counter = 0;
    while (getchar() != EOF) counter++;
    for (;;) counter++;
}
