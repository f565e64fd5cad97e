#!/usr/bin/env python3
"""Generates a large C program (many varied functions) for the decode and compile benchmarks.

Deterministic: the same seed gives the same C source, so the module it compiles to is stable.
Usage: gen.py [FUNCTIONS] > large.c
"""
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 6000
rng = random.Random(0x5EED)

print("typedef unsigned int u32; typedef unsigned long long u64; typedef int i32; typedef long long i64;")
print("static u32 table[4096]; static double ftable[1024]; static u64 wtable[512];")
print("typedef u32 (*fp)(u32, u32);")

def expr(vars_, depth):
    if depth == 0 or rng.random() < 0.25:
        return rng.choice(vars_ + [str(rng.randint(1, 1 << 20)) + "u"])
    op = rng.choice(["+", "-", "*", "^", "|", "&", "<<", ">>", "/", "%"])
    a, b = expr(vars_, depth - 1), expr(vars_, depth - 1)
    if op in ("/", "%"):
        return f"(({a}) {op} (({b}) | 1u))"
    if op in ("<<", ">>"):
        return f"(({a}) {op} (({b}) & 31u))"
    return f"(({a}) {op} ({b}))"

def body_int(i):
    v = ["a", "b", "x", "y"]
    lines = [f"u32 f{i}(u32 a, u32 b) {{", "  u32 x = a ^ 0x9e3779b9u, y = b + 7u;"]
    for _ in range(rng.randint(2, 6)):
        kind = rng.random()
        if kind < 0.3:
            lines.append(f"  for (u32 k = 0; k < (a & 63u); k++) {{ x = {expr(v + ['k'], 3)}; y ^= table[(x + k) & 4095u]; }}")
        elif kind < 0.5:
            lines.append(f"  switch ({expr(v, 2)} & 7u) {{")
            for c in range(8):
                lines.append(f"    case {c}: y = {expr(v, 2)}; break;")
            lines.append("  }")
        elif kind < 0.7:
            lines.append(f"  if ({expr(v, 2)} > {expr(v, 2)}) x = {expr(v, 3)}; else y = {expr(v, 3)};")
        elif kind < 0.85 and int_funcs:
            lines.append(f"  x += f{rng.choice(int_funcs)}(y, {expr(v, 2)});")
        else:
            lines.append(f"  table[{expr(v, 2)} & 4095u] = {expr(v, 3)};")
    lines.append(f"  return {expr(v, 3)};")
    lines.append("}")
    return lines

def body_float(i):
    lines = [f"double g{i}(double a, u32 n) {{", "  double s = a;"]
    for _ in range(rng.randint(1, 4)):
        op = rng.choice(["+", "-", "*", "/"])
        lines.append(f"  for (u32 k = 0; k < (n & 31u); k++) s = s {op} ftable[(k * {rng.randint(1, 99)}u) & 1023u] + (double)k * {rng.random():.6f};")
        lines.append(f"  if (s > {rng.random() * 1000:.3f}) s = s * 0.5; else s = s + (double)(i64)s;")
    lines.append("  return s;")
    lines.append("}")
    return lines

def body_wide(i):
    lines = [f"u64 h{i}(u64 a, u64 b) {{", "  u64 x = a * 0x9e3779b97f4a7c15ull;"]
    for _ in range(rng.randint(1, 4)):
        lines.append(f"  x ^= (x >> {rng.randint(1, 63)}) + wtable[(b + {rng.randint(0, 511)}u) & 511u];")
        lines.append(f"  if (x & {1 << rng.randint(0, 40)}ull) x = x * {rng.randint(3, 999)}ull + b; else b += x >> 3;")
    lines.append("  return x + b;")
    lines.append("}")
    return lines

kinds = []
int_funcs = []
for i in range(n):
    r = rng.random()
    if r < 0.6:
        out = body_int(i); kinds.append("f"); int_funcs.append(i)
    elif r < 0.8:
        out = body_float(i); kinds.append("g")
    else:
        out = body_wide(i); kinds.append("h")
    print("\n".join(out))

# An indirect-call table over the integer functions keeps them all reachable.
ints = [f"f{i}" for i, k in enumerate(kinds) if k == "f"]
print(f"static fp dispatch[{len(ints)}] = {{ {', '.join(ints)} }};")
print(f"u32 run(u32 i, u32 a, u32 b) {{ return dispatch[i % {len(ints)}u](a, b); }}")
