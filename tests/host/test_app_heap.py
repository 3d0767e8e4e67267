"""The whole app from a ROMFS image, 10 simulated minutes of bus traffic on the MicroPython VM,
with a fixed heap budget for everything that is not the image (tools/bench/bench_board.py says
how): no MemoryError, every module from /rom, the heap does not creep, the bus stays right.

Issue 5 asks for 48 KiB on a board. On this 64-bit VM the same run needs about 119 KiB (see
bench_board.VM_BUDGET): that target is not met here; the app's own share above its imports is.
"""

import subprocess
from pathlib import Path

from tools import romfs
from tools.bench import bench_board
from tools.mptest import find_micropython


def test_ten_minutes_of_bus_traffic_from_romfs_in_a_fixed_heap_budget():
    r = bench_board.run_app(10)  # raises with the VM's output on a MemoryError
    assert r["not_from_rom"] == [] and r["imports_not_from_rom"] == []
    # the words of the event log and of the message catalogue, the off-board table of shared
    # numbers and the event log's reader stay in flash: no RAM on a board (vebus.peers is not
    # checked here: the harness's scripted Multi uses it)
    assert "firmware.app" in r["modules"] and "vebus.catalogue" in r["modules"]
    for name in (
        "firmware.core.texts",
        "firmware.app_texts",
        "firmware.core.settings_help",
        "firmware.core.codes",
        "firmware.core.eventread",
        "vebus.describe",
    ):
        assert name not in r["modules"], name
    assert r["budget"] == bench_board.VM_BUDGET and r["image_bytes"] > 40000
    assert 0 < r["heap_free_min"] and r["budget_used_max"] <= r["budget"]
    assert r["app_heap_high_water"] <= bench_board.APP_HEAP_BYTES  # the app above its imports
    assert r["simulated_s"] == 600 and r["syncs"] == 30000
    assert r["wrong_frame_no"] == 0 and r["collisions"] == 0
    assert 0 <= r["response_min_ms"] <= r["response_max_ms"] <= 3
    assert r["multi_version"] == 491
    assert r["low_cell_cycles"] == 10 and r["switch_frames"] >= 20
    assert r["status_frames"] >= 300  # one a second while the Multi runs, fewer in low power


def test_booting_like_main_py_fits_the_same_budget():
    """The firmware imported inside main.build (as on a board): the import garbage must not
    leave the app's objects scattered (main.build collects before building; without that
    collection this run needs ~10 KiB more)."""
    r = bench_board.boot_run(1)
    assert r["budget"] == bench_board.VM_BUDGET and r["not_from_rom"] == []
    assert r["syncs"] == 3000 and r["wrong_frame_no"] == 0 and r["multi_version"] == 491


PROBE = """
import gc, sys, vfs
img = open(%r, 'rb').read()
vfs.mount(vfs.VfsRom(img), '/rom')
sys.path[:] = [sys.argv[1]]
gc.collect()
a = gc.mem_alloc()
import big
gc.collect()
print(gc.mem_alloc() - a, big.f(0), big.__file__)
"""


def test_code_imported_from_a_romfs_mount_runs_in_place(tmp_path):
    """One function of ~10 KB of bytecode: from /rom its import takes a few hundred bytes of
    heap (the bytecode stays in the image); from a normal folder, the bytecode too."""
    src = tmp_path / "big.py"
    src.write_text(
        "def f(x):\n" + "".join("    x += %d\n" % i for i in range(2000)) + "    return x\n"
    )
    items = romfs.compile_extra([src], "mods", tmp_path / "mods")
    mpy = items[0][2]
    assert mpy > 8000
    image = tmp_path / "probe.romfs"
    image.write_bytes(romfs.image(items))
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE % str(image))
    out = {}
    for where in ("/rom/mods", str(tmp_path / "mods")):
        proc = subprocess.run(
            [find_micropython(), "-X", "heapsize=256k", str(probe), where],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        used, value, file = proc.stdout.split()
        assert int(value) == sum(range(2000)) and Path(file).parent == Path(where)
        out[where] = int(used)
    assert out["/rom/mods"] < 1024
    assert out[str(tmp_path / "mods")] > mpy  # the bytecode copied to the heap
