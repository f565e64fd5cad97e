/* Memory: sieve of Eratosthenes over a byte array, repeated. */
#include "kernel.h"
#define SIZE 1000000
static uint8_t composite[SIZE];
EXPORT("run") uint32_t run(uint32_t n) {
    uint32_t count = 0;
    for (uint32_t r = 0; r < n; r++) {
        for (uint32_t i = 0; i < SIZE; i++) composite[i] = 0;
        count = 0;
        for (uint32_t i = 2; i < SIZE; i++) {
            if (composite[i]) continue;
            count++;
            for (uint32_t j = i + i; j < SIZE; j += i) composite[j] = 1;
        }
    }
    return count;
}
