#!/usr/bin/env python3
"""Runs a WASI command under wasmtime through its Python package (pip install wasmtime), for
machines that have the package but not the wasmtime CLI. Accepts the subset of `wasmtime run`
that the tests and benchmarks use:  [--dir HOST[::GUEST]]... [--env NAME=VALUE]... FILE ARGS...
Exits with the guest's exit code (134 on a trap)."""
import sys

from wasmtime import Engine, ExitTrap, Linker, Module, Store, Trap, WasiConfig


def main(argv):
    dirs, env = [], []
    while argv and argv[0] in ("--dir", "--env"):
        flag, value, argv = argv[0], argv[1], argv[2:]
        if flag == "--dir":
            host, _, guest = value.partition("::")
            dirs.append((host, guest or host))
        else:
            name, _, val = value.partition("=")
            env.append((name, val))
    if not argv:
        sys.exit("usage: wasmtime-run.py [--dir HOST[::GUEST]] [--env NAME=VALUE] FILE ARGS...")
    engine = Engine()
    linker = Linker(engine)
    linker.define_wasi()
    module = Module.from_file(engine, argv[0])
    store = Store(engine)
    wasi = WasiConfig()
    wasi.argv = argv
    wasi.env = env
    wasi.inherit_stdin()
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    for host, guest in dirs:
        wasi.preopen_dir(host, guest)
    store.set_wasi(wasi)
    instance = linker.instantiate(store, module)
    try:
        instance.exports(store)["_start"](store)
    except ExitTrap as exit_trap:
        return exit_trap.code
    except Trap as trap:
        print(f"trap: {trap}", file=sys.stderr)
        return 134
    return 0


if __name__ == "__main__":
    sys.stdout.flush()
    sys.exit(main(sys.argv[1:]))
