/* Float and branches: Mandelbrot set iteration counts. */
#include "kernel.h"
EXPORT("run") uint32_t run(uint32_t n) {
    uint32_t total = 0;
    for (uint32_t py = 0; py < n; py++)
        for (uint32_t px = 0; px < 200; px++) {
            double cx = -2.0 + px * (3.0 / 200), cy = -1.5 + py * (3.0 / n);
            double x = 0, y = 0;
            uint32_t k = 0;
            while (k < 200 && x * x + y * y < 4.0) { double t = x * x - y * y + cx; y = 2 * x * y + cy; x = t; k++; }
            total += k;
        }
    return total;
}
