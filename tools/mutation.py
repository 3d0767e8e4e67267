"""Mutation testing of the safety code: does the suite notice when a rule is changed?

    python -m tools.mutation [--jobs N] [--only TEXT] [--list]

Each mutant is ONE small change to ONE file (tools/mutants.py: the operators); the chosen fast
tests then run on it in a forked CPython process. A test that fails (or a run that takes more than
3x the tests' CPU time + 2 s: a loop that never ends) kills the mutant; a mutant that passes every
test SURVIVES: a rule the tests do not pin down, or an equivalent change (read each survivor).
Prints progress, every survivor as `file:line operator`, and the score. Exit status 0; 1 when the
unchanged code fails its own tests (nothing is measured). Only the tests that run the mutated line
(a line tracer, once per test on the unchanged code) run on a mutant; code that runs at import
(default arguments, _core.py building its loops) runs every test that can see it.

Targets and the tests run for them (tests/*.py, plain functions, each mutant runs them in file
order and stops at the first failure; tests that need the MicroPython VM skip here):
  firmware/core protection, signals (outputs held off), btv, btv_wire, debounce, remote, mains,
  leds, settings       -> tests/test_core_*.py
  firmware/bms/role.py -> tests/test_bms_role*.py, tests/test_app.py
  lib/vebus _core, decoder, frame, catalogue -> tests/test_vebus_*.py, tests/test_bms_role*.py
(lib/vebus/mk2.py and describe.py serve host tools only: the board never runs them.)
"""

import argparse
import functools
import importlib
import json
import os
import resource
import signal
import sys
import tempfile
import time

from tools.mutants import ROOT, module_name, mutants

CORE_TESTS = ("tests/test_core_*.py",)
TARGETS = (
    ("firmware/core/protection.py", CORE_TESTS),
    ("firmware/core/signals.py", CORE_TESTS),
    ("firmware/core/btv.py", CORE_TESTS),
    ("firmware/core/btv_wire.py", CORE_TESTS),
    ("firmware/core/debounce.py", CORE_TESTS),
    ("firmware/core/remote.py", CORE_TESTS),
    ("firmware/core/mains.py", CORE_TESTS),
    ("firmware/core/leds.py", CORE_TESTS),
    ("firmware/core/settings.py", CORE_TESTS),
    ("firmware/bms/role.py", ("tests/test_bms_role*.py", "tests/test_app.py")),
)
VEBUS_TESTS = ("tests/test_vebus_*.py", "tests/test_bms_role*.py")
TARGETS += tuple(
    ("lib/vebus/%s.py" % m, VEBUS_TESTS) for m in ("_core", "decoder", "frame", "catalogue")
)


def test_files(patterns):
    files = []
    for pat in patterns:
        for p in sorted(ROOT.glob(pat)):
            if p not in files:
                files.append(p)
    return files


# ---- running the tests on a mutant (in a forked child) -------------------------------------
# The parent imports the code and the test modules once; each child execs one mutated file into
# its module and rebinds every copy other modules took (`from x import name`), then calls the
# tests. A fork costs milliseconds where a fresh interpreter costs half a second.
def _apply(mutant):
    mod = sys.modules[mutant.module]
    old = dict(mod.__dict__)
    exec(compile(mutant.text, str(ROOT / mutant.path), "exec"), mod.__dict__)
    new = {id(v): mod.__dict__[k] for k, v in old.items() if mod.__dict__.get(k) is not v}
    for m in list(sys.modules.values()):
        d = getattr(m, "__dict__", None)
        if d is None or m is mod:
            continue
        for k, v in list(d.items()):
            if id(v) in new:
                d[k] = new[id(v)]
    if mutant.module == "vebus._core":  # the decoder took its loops from _core at import
        d = sys.modules["vebus.decoder"].__dict__
        d["_collect"], d["_check"], d["NATIVE"] = mod.load()


def _import_tests(files):
    return [importlib.import_module(p.stem) for p in files]


def _tests_of(files):
    """[(module, name)] of every test function in the files, in file then name order."""
    found = []
    for mod in _import_tests(files):
        for name in sorted(dir(mod)):
            if name.startswith("test_") and callable(getattr(mod, name)):
                found.append((mod.__name__, name))
    return found


def _timed(tests):
    """CPU seconds the tests take on the unchanged code."""
    t = time.process_time()
    for test in tests:
        _call(test)
    return time.process_time() - t


def _survives(m, tests):
    """In the child: the mutant applied, True when every test still passes."""
    _apply(m)
    return all(_call(t) for t in tests)


def _call(test):
    """False when the test fails (a skip is no failure)."""
    try:
        getattr(sys.modules[test[0]], test[1])()
    except BaseException as e:  # pytest.skip raises a BaseException
        return type(e).__name__ in ("Skipped", "Skip")
    return True


def _child(fn, scratch, result=None, cpu_s=0):
    """fork; the child runs fn() with output silenced and exits 0 (True) or 1 (False); with
    `result` (a path) it writes fn's value there as JSON and exits 0. cpu_s > 0: the kernel
    stops the child after that much CPU time (a mutant that loops forever), whatever the load."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        if cpu_s:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s))
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        import vmtest  # pyright: ignore[reportMissingImports]  (tests/ is on the path)

        vmtest.OUT = scratch  # fresh_root() folders of this child only
        value = fn()
        if result is None:
            code = 0 if value else 1
        else:
            with open(result, "w") as f:
                json.dump(value, f)
            code = 0
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _coverage(tests, targets):
    """Run each test once with a line tracer: {test index: [[file, line], ...]} of the target
    files' lines it ran ("lib/vebus/_core.py#src": the source text _core compiles), and
    whether every test passed on the unchanged code."""
    paths = {str(ROOT / rel): rel for rel in targets}
    paths["<string>"] = "lib/vebus/_core.py#src"
    cover = {}
    hit = set()

    def local(frame, event, arg):
        if event == "line":
            hit.add((paths[frame.f_code.co_filename], frame.f_lineno))
        return local

    def glob(frame, event, arg):
        if frame.f_code.co_filename in paths:
            return local
        return None

    ok = True
    for i, test in enumerate(tests):
        hit.clear()
        sys.settrace(glob)
        try:
            ok = _call(test) and ok
        finally:
            sys.settrace(None)
        cover[i] = sorted(hit)
    return {"ok": ok, "cover": cover}


def _prepare():
    for p in ("tests", "tests/fakes", "lib", "."):
        sys.path.insert(0, str(ROOT / p))
    from tools import hostcompat

    hostcompat.install()


def _covering(m, tests, cover):
    """The tests that run a line of the mutant's statement (only those can kill it). Code that
    runs at import (default arguments, _core.py building its loops) shows in no test's lines:
    then every test that can see its effect runs."""
    if m.path == "lib/vebus/_core.py":  # its lines run at import; the loops they build, per test
        return [
            tests[i] for i in range(len(tests)) if any(r == m.path + "#src" for r, _ in cover[i])
        ]
    lo, hi = m.lines
    found = [
        tests[i]
        for i in range(len(tests))
        if any(r == m.path and lo <= n <= hi for r, n in cover[i])
    ]
    return found or list(tests)


def run(jobs=None, only=None, progress=None):
    """Run every mutant; returns {"total", "killed", "survivors": [where], "seconds"}."""
    out = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    t0 = time.monotonic()
    _prepare()
    jobs = jobs or os.cpu_count() or 1
    scratch = tempfile.mkdtemp(prefix="mutation-")
    groups = {}  # test patterns -> (tests, coverage)
    cpu_s = 0  # CPU seconds a mutant's tests may take
    work = []
    for rel, pats in TARGETS:
        if only and only not in rel:
            continue
        if pats not in groups:
            tests = _tests_of(test_files(pats))
            for r, _ in TARGETS:
                importlib.import_module(module_name(r))
            res = scratch + "/cover.json"
            pid = _child(lambda t=tests: _coverage(t, [r for r, _ in TARGETS]), scratch, res)
            os.waitpid(pid, 0)
            with open(res) as f:
                c = json.load(f)
            if not c["ok"]:
                out("mutation: the unchanged code fails its tests (%s)" % " ".join(pats))
                return None
            # the plain run's CPU time sets the limit (a mutant may well run slower)
            pid = _child(lambda t=tests: _timed(t), scratch, res)
            os.waitpid(pid, 0)
            with open(res) as f:
                cpu_s = max(cpu_s, int(3 * json.load(f)) + 2)
            groups[pats] = (tests, {int(k): v for k, v in c["cover"].items()})
            out("mutation: %d tests for %s, coverage taken" % (len(tests), " ".join(pats)))
        tests, cover = groups[pats]
        for m in mutants(rel):
            work.append((m, _covering(m, tests, cover)))
    limit = 60.0 * cpu_s  # wall-clock backstop (a child blocked without using CPU)
    out("mutation: %d mutants, %d jobs, %d s of CPU at most each" % (len(work), jobs, cpu_s))
    running = {}  # pid -> (mutant, deadline)
    killed = 0
    survivors = []
    done = 0
    nxt = 0
    while nxt < len(work) or running:
        while nxt < len(work) and len(running) < jobs:
            m, tests = work[nxt]
            nxt += 1
            pid = _child(
                functools.partial(_survives, m, tests),
                "%s/%d" % (scratch, nxt % (2 * jobs)),
                cpu_s=cpu_s,
            )
            running[pid] = (m, time.monotonic() + limit)
        if not running:
            continue
        pid, status = os.waitpid(-1, os.WNOHANG)
        if not pid:
            now = time.monotonic()
            for p, (_m, deadline) in list(running.items()):
                if now > deadline:
                    os.kill(p, signal.SIGKILL)  # a hang is a kill: the tests did not pass
            time.sleep(0.002)
            continue
        m, _ = running.pop(pid)
        done += 1
        if os.waitstatus_to_exitcode(status) == 0:
            survivors.append(m.where())
            out("mutation: SURVIVED %s" % m.where())
        else:
            killed += 1
        if done % 100 == 0:
            out(
                "mutation: %d/%d run, %d killed, %d survived, %.0f s"
                % (done, len(work), killed, len(survivors), time.monotonic() - t0)
            )
    survivors.sort()
    return {
        "total": len(work),
        "killed": killed,
        "survivors": survivors,
        "seconds": time.monotonic() - t0,
    }


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Mutation testing of the safety code (see the module docstring)."
    )
    ap.add_argument("--jobs", type=int, default=None, help="mutants run at once (default: CPUs)")
    ap.add_argument("--only", help="only the target files whose path contains this")
    ap.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    args = ap.parse_args(argv)
    if args.list:
        n = 0
        for rel, _ in TARGETS:
            if not args.only or args.only in rel:
                for m in mutants(rel):
                    print(m.where())
                    n += 1
        print("%d mutants" % n)
        return 0
    r = run(args.jobs, args.only)
    if r is None:
        return 1
    for w in r["survivors"]:
        print("survived: %s" % w)
    pct = 100.0 * r["killed"] / r["total"] if r["total"] else 0.0
    print(
        "mutation: %d of %d mutants killed (%.1f %%) in %.0f s"
        % (r["killed"], r["total"], pct, r["seconds"])
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
