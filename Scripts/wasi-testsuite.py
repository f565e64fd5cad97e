#!/usr/bin/env python3
"""Run the official WebAssembly/wasi-testsuite's wasm32-wasip1 tests under Shoal and wasmtime.

Get the suite's prebuilt programs (branch prod/testsuite-base) into $WASI_TESTSUITE (default
/tmp/wasi-testsuite), e.g.
  git clone -b prod/testsuite-base https://github.com/WebAssembly/wasi-testsuite /tmp/wasi-testsuite
then: python3 Scripts/wasi-testsuite.py   (SHOAL and WASMTIME name the binaries; results and
logs go to $WASI_TESTSUITE_RESULTS, default /tmp/wasi-testsuite-results). Nothing of the suite
is committed to this repository.

Conventions follow the suite's own test-runner (test_suite_runner.py / test_case.py):
  - legacy JSON: args, env, root (preopened as guest "/"), exit_code (default 0),
    stdout/stderr (checked only if present; prefix compare of len(expected) chars).
  - *.cleanup files under root are removed before a run.
  - stdin is a pipe (closed immediately), stdout/stderr pipes.
Each run gets a fresh copy of the root directory.
"""
import json, os, shutil, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SUITE = Path(os.environ.get("WASI_TESTSUITE", "/tmp/wasi-testsuite")) / "tests"
OUT = Path(os.environ.get("WASI_TESTSUITE_RESULTS", "/tmp/wasi-testsuite-results"))
_root = Path(__file__).resolve().parent.parent
RUNTIMES = {
    "shoal": [os.environ.get("SHOAL", str(_root / ".build/debug/shoal")), "run"],
    "wasmtime": [os.environ.get("WASMTIME", str(Path.home() / ".shoal-peers/lib/python3.11/site-packages/wasmtime_cli/wasmtime")), "run"],
}
TIMEOUT = 20


def load_spec(wasm: Path):
    j = wasm.with_suffix(".json")
    cfg = json.loads(j.read_text()) if j.exists() else {}
    assert "operations" not in cfg, f"operation-based config unsupported: {j}"
    return {
        "args": cfg.get("args", []),
        "env": cfg.get("env", {}),
        "root": cfg.get("root"),
        "exit_code": cfg.get("exit_code", 0),
        "stdout": cfg.get("stdout"),
        "stderr": cfg.get("stderr"),
    }


def run_one(rt: str, wasm: Path):
    spec = load_spec(wasm)
    tmp = Path(tempfile.mkdtemp(prefix=f"wts-{rt}-"))
    argv = list(RUNTIMES[rt])
    for k, v in spec["env"].items():
        argv += ["--env", f"{k}={v}"]
    if spec["root"]:
        src = wasm.parent / spec["root"]
        dst = tmp / "root"
        shutil.copytree(src, dst, symlinks=True)
        for f in dst.glob("**/*.cleanup"):
            if f.is_symlink():
                continue
            shutil.rmtree(f) if f.is_dir() else f.unlink()
        argv += ["--dir", f"{dst}::/"]
    argv += [str(wasm)] + spec["args"]
    t0 = time.time()
    timed_out = False
    try:
        p = subprocess.run(argv, capture_output=True,
                           timeout=TIMEOUT, cwd=tmp, input=b"")
        code, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        timed_out = True
        code, out, err = None, e.stdout or b"", e.stderr or b""
    dt = time.time() - t0
    out_s = out.decode("utf-8", "replace")
    err_s = err.decode("utf-8", "replace")
    reasons = []
    if timed_out:
        reasons.append(f"timeout after {TIMEOUT}s")
    elif code != spec["exit_code"]:
        reasons.append(f"exit code {code}, expected {spec['exit_code']}")
    for stream, actual in (("stdout", out_s), ("stderr", err_s)):
        exp = spec[stream]
        if exp is not None and actual[:len(exp)] != exp:
            reasons.append(f"{stream} {actual[:len(exp)]!r}, expected {exp!r}")
    shutil.rmtree(tmp, ignore_errors=True)
    return {
        "runtime": rt, "test": str(wasm.relative_to(SUITE)), "argv": argv,
        "exit_code": code, "expected_exit_code": spec["exit_code"],
        "expected_stdout": spec["stdout"], "stdout": out_s, "stderr": err_s,
        "passed": not reasons, "reasons": reasons, "seconds": round(dt, 2),
    }


def main():
    tests = sorted(SUITE.glob("*/testsuite/wasm32-wasip1/*.wasm"))
    OUT.mkdir(parents=True, exist_ok=True)
    jobs = [(rt, w) for w in tests for rt in RUNTIMES]
    with ThreadPoolExecutor(max_workers=int(os.environ.get("JOBS", "2"))) as ex:
        results = list(ex.map(lambda a: run_one(*a), jobs))
    (OUT / "results.json").write_text(json.dumps(results, indent=1))
    for rt in RUNTIMES:
        with open(OUT / f"{rt}.log", "w") as f:
            for r in results:
                if r["runtime"] != rt:
                    continue
                f.write(f"=== {r['test']}: {'PASS' if r['passed'] else 'FAIL'} "
                        f"({r['seconds']}s)\n$ {' '.join(map(repr, r['argv']))}\n")
                for x in r["reasons"]:
                    f.write(f"  reason: {x}\n")
                f.write(f"  exit={r['exit_code']} expected={r['expected_exit_code']}\n")
                f.write("--- stdout\n" + r["stdout"] + "\n--- stderr\n" + r["stderr"] + "\n\n")
    # summary
    by = {}
    for r in results:
        suite = r["test"].split("/")[0]
        d = by.setdefault((suite, r["runtime"]), [0, 0])
        d[0] += r["passed"]; d[1] += 1
    lines = ["suite           shoal      wasmtime"]
    for suite in sorted({s for s, _ in by}):
        s, w = by[(suite, "shoal")], by[(suite, "wasmtime")]
        lines.append(f"{suite:15} {s[0]:3}/{s[1]:<3}    {w[0]:3}/{w[1]:<3}")
    tot = lambda rt: (sum(v[0] for (s, r), v in by.items() if r == rt),
                      sum(v[1] for (s, r), v in by.items() if r == rt))
    lines.append(f"{'TOTAL':15} {tot('shoal')[0]:3}/{tot('shoal')[1]:<3}    "
                 f"{tot('wasmtime')[0]:3}/{tot('wasmtime')[1]:<3}")
    idx = {(r["runtime"], r["test"]): r for r in results}
    lines.append("\nFailing under shoal, passing under wasmtime:")
    for w in tests:
        t = str(w.relative_to(SUITE))
        s, m = idx[("shoal", t)], idx[("wasmtime", t)]
        if not s["passed"] and m["passed"]:
            lines.append(f"- {t}: {'; '.join(s['reasons'])}")
            for lbl in ("stdout", "stderr"):
                first = [l for l in s[lbl].splitlines() if l.strip()][:4]
                for l in first:
                    lines.append(f"    {lbl}: {l[:200]}")
    lines.append("\nFailing under both:")
    for w in tests:
        t = str(w.relative_to(SUITE))
        s, m = idx[("shoal", t)], idx[("wasmtime", t)]
        if not s["passed"] and not m["passed"]:
            lines.append(f"- {t}: shoal: {'; '.join(s['reasons'])} | wasmtime: {'; '.join(m['reasons'])}")
    lines.append("\nPassing under shoal, failing under wasmtime:")
    for w in tests:
        t = str(w.relative_to(SUITE))
        s, m = idx[("shoal", t)], idx[("wasmtime", t)]
        if s["passed"] and not m["passed"]:
            lines.append(f"- {t}: wasmtime: {'; '.join(m['reasons'])}")
    text = "\n".join(lines) + "\n"
    (OUT / "summary.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
