/* Floating point with sqrt: a small n-body simulation. */
#include "kernel.h"
#define BODIES 5
typedef struct { double x, y, z, vx, vy, vz, m; } Body;
static Body bodies[BODIES];
static double sqrt_(double x) { return __builtin_sqrt(x); }
EXPORT("run") uint32_t run(uint32_t n) {
    for (int i = 0; i < BODIES; i++) {
        bodies[i] = (Body){ i * 1.5, i * -0.7, i * 0.3, 0.01 * i, 0.02, -0.01 * i, 1.0 + i };
    }
    for (uint32_t s = 0; s < n; s++) {
        for (int i = 0; i < BODIES; i++)
            for (int j = i + 1; j < BODIES; j++) {
                double dx = bodies[i].x - bodies[j].x, dy = bodies[i].y - bodies[j].y, dz = bodies[i].z - bodies[j].z;
                double d2 = dx * dx + dy * dy + dz * dz + 0.01;
                double mag = 0.001 / (d2 * sqrt_(d2));
                bodies[i].vx -= dx * bodies[j].m * mag; bodies[i].vy -= dy * bodies[j].m * mag; bodies[i].vz -= dz * bodies[j].m * mag;
                bodies[j].vx += dx * bodies[i].m * mag; bodies[j].vy += dy * bodies[i].m * mag; bodies[j].vz += dz * bodies[i].m * mag;
            }
        for (int i = 0; i < BODIES; i++) {
            bodies[i].x += 0.001 * bodies[i].vx; bodies[i].y += 0.001 * bodies[i].vy; bodies[i].z += 0.001 * bodies[i].vz;
        }
    }
    double e = 0;
    for (int i = 0; i < BODIES; i++) e += bodies[i].x + bodies[i].y * 2 + bodies[i].z * 3;
    return (uint32_t)(int64_t)(e * 1000.0);
}
