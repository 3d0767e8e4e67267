"""The board firmware as a whole: its heap over a 10-minute bus run, its deployed size, its slot.

app_heap_high_water_bytes   highest live heap (after a collection, sampled every simulated
                            second) of the whole app on the MicroPython unix port in virtual time,
                            above what the imported modules take (their code; a board can keep
                            it in flash as frozen modules or ROMFS) and the scripted Multi. The
                            unix port is 64-bit: objects are about twice their size on a Pico.
                            The run itself gets a heap of exactly that module footprint + 48 KiB.
deployed_mpy_bytes          total size of the .mpy files tools/deploy.py builds (boot.py and
                            main.py stay source and are not counted)
bus_response_after_sync_ms  the latest the BMS's frame followed a sync in that run (virtual time:
                            the bus task reads within 2 ms of each sync, CPU time is not modelled)
"""

import json
import subprocess
import tempfile
from pathlib import Path

from tools import deploy
from tools.mptest import ROOT, find_micropython, vm_env

SCRIPT = ROOT / "tests" / "fakes" / "apprun.py"
APP_HEAP_BYTES = 48 * 1024  # the heap the app itself gets (issue 5)


def _vm(heap_bytes, *args, timeout=600):
    proc = subprocess.run(
        [find_micropython(), "-X", "heapsize=%d" % heap_bytes, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        env=vm_env(),
        cwd=ROOT,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError("VM run failed:\n" + proc.stdout + proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def import_footprint(tmp):
    """Heap everything but the app takes on the VM: modules, settings, the test harness."""
    return _vm(192 * 1024, "imports", "0", tmp)["imports"]


def run_app(minutes=10, app_heap=APP_HEAP_BYTES):
    """The whole app for `minutes` simulated minutes on a heap of footprint + app_heap."""
    with tempfile.TemporaryDirectory() as tmp:
        heap = import_footprint(tmp) + app_heap
        result = _vm(heap, "run", str(minutes), tmp)
    result["heapsize"] = heap
    return result


def run():
    r = run_app(10)
    with tempfile.TemporaryDirectory() as tmp:
        items = deploy.build(out=Path(tmp))
        mpy = sum(size for dest, _, size in items if dest.endswith(".mpy"))
    return {
        "app_heap_high_water_bytes": r["app_heap_high_water"],
        "deployed_mpy_bytes": mpy,
        "bus_response_after_sync_ms": r["response_max_ms"],
    }
