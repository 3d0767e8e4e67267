# Runs inside the MicroPython unix port: `micropython tools/vm_runner.py tests/test_x.py`.
# Calls every module-level function named test_* in sorted order and prints one line per failure,
# then a machine-readable tally `VMRESULT passed failed skipped` for tools/mptest.py.
import sys


def main():
    # The VM puts this script's folder (tools/) first on sys.path: drop it, or tools/vebus (the
    # host CLI) would shadow lib/vebus.
    if sys.path and sys.path[0].endswith("tools"):
        sys.path.pop(0)
    path = sys.argv[1]
    folder, _, fname = path.rpartition("/")
    sys.path.insert(0, folder or ".")
    name = fname[:-3]
    passed = failed = skipped = 0
    try:
        mod = __import__(name)
    except Exception as e:  # an import that fails on the VM is a failure of the whole module
        print("FAIL %s (import)" % path)
        sys.print_exception(e)
        print("VMRESULT 0 1 0")
        return
    for attr in sorted(dir(mod)):
        if not attr.startswith("test_"):
            continue
        fn = getattr(mod, attr)
        if not callable(fn):
            continue
        try:
            fn()
            passed += 1
        except Exception as e:
            if type(e).__name__ == "Skip":
                skipped += 1
                print("skip %s::%s: %s" % (path, attr, e))
            else:
                failed += 1
                print("FAIL %s::%s" % (path, attr))
                sys.print_exception(e)
    print("VMRESULT %d %d %d" % (passed, failed, skipped))


main()
