// Reads integers from standard input and prints them sorted, one per line.
#include <stdio.h>
#include <stdlib.h>

static int compare(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int main(void) {
    size_t count = 0, capacity = 64;
    long *numbers = malloc(capacity * sizeof *numbers);
    long n;
    while (numbers && scanf("%ld", &n) == 1) {
        if (count == capacity) numbers = realloc(numbers, (capacity *= 2) * sizeof *numbers);
        if (numbers) numbers[count++] = n;
    }
    if (!numbers) {
        fputs("sort: out of memory\n", stderr);
        return 2;
    }
    qsort(numbers, count, sizeof *numbers, compare);
    for (size_t i = 0; i < count; i++) printf("%ld\n", numbers[i]);
    return 0;
}
