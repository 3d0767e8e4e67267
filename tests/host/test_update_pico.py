"""The boot check, rollback and a power cut during a deploy on the emulated Pico (tools/pico).

What a user sees is the manual's (5.2, 6): an application that cannot run leaves the status LED
(GPIO 25) flashing ~15 times a second; here also the outputs (GPIO 13-15) floating, the RS485
drivers' DE (GPIO 2, 3) low and the REPL prompt. Skipped with one line without the emulator.

The deploy on the emulated board: its scripts (recorded from tools/deploy.install against a
folder board holding the same files) are typed at the REPL of the parked firmware, as mpremote
would send them; the run stops at a chosen emulated time with its flash saved (a power cut), and
the saved flash boots. That sweep takes about a minute of wall time a cut: it runs only with
PICO_CUTS=N (cut times spread evenly over the deploy); `make test` skips it with one line, the
same logic runs there on the unix port (tests/host/test_deploy_cut.py).
"""

import os
import shutil
from pathlib import Path

import pytest

from firmware.hw.board_pico import PROFILE
from tools import deploy
from tools.board_files import ROOT, board_files

emu = pytest.importorskip("tools.pico.emu")
stim = pytest.importorskip("tools.pico.stim")

OUTS = tuple(p for p, _ in PROFILE["outputs"])  # load / charge disconnect, pre-alarm
DES = tuple(b[4] for b in PROFILE["bus"])
LED = PROFILE["leds"][0][1]


def _run(name, stimulus=(), **kw):
    try:
        return emu.run(name, stimulus, **kw)
    except emu.PicoSkip as e:
        pytest.skip(str(e))


def _flips(run, pin, t0_us, t1_us):
    return sum(1 for t, _ in run.trace.pin_changes(pin) if t0_us <= t < t1_us)


def _assert_safe_state(run, after_us):
    """Outputs floating, DE low, the status LED at ~15 Hz, the REPL prompt: from `after_us`."""
    end = run.emulated_ms * 1000
    t = run.trace
    for p in OUTS:
        assert t.pin_state(p, end) in ("float", "reset", "pull-down"), (p, t.pin_changes(p))
        assert "high" not in [s for _, s in t.pin_changes(p)]  # never driven on
    for p in DES:
        assert t.pin_state(p, end) in ("low", "reset", "pull-down"), (p, t.pin_changes(p))
    window = min(end - after_us - 100_000, 1_000_000)
    assert window >= 500_000, "too short a run to count the LED"
    flashes = _flips(run, LED, end - window, end) / 2 / (window / 1e6)
    assert 13 <= flashes <= 17, flashes
    assert run.console.rstrip().endswith(">>>")  # the REPL is free: a deploy can connect


def test_a_flipped_byte_in_a_deployed_file_is_caught_at_boot(tmp_path):
    # a byte of the protection code, on the board's flash after the deploy wrote it
    items = deploy.build(out=tmp_path / "b", march=emu.MARCH)
    local = next(lo for d, lo, _ in items if d == "/firmware/core/protection.mpy")
    bad = tmp_path / "protection.mpy"
    data = bytearray(local.read_bytes())
    data[len(data) // 2] ^= 0x10
    bad.write_bytes(bytes(data))
    run = _run("update-flip", max_ms=2200, extra={"/img_a/firmware/core/protection.mpy": str(bad)})
    failed = run.trace.console_at("boot check failed")
    assert failed is not None, run.console
    assert "file missing or damaged (img_a/firmware/core/protection.mpy)" in run.console
    _assert_safe_state(run, failed)
    assert run.trace.resets() == []  # no reset loop


def _image_b(tmp_path, src_change):
    """The flash tree of image b: the repo's files with one source changed, as a folder."""
    src = tmp_path / "src"
    for rel in board_files(ROOT):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, src / rel)
    rel, text = src_change
    with open(src / rel, "a") as f:
        f.write(text)
    items = deploy.build(src, tmp_path / "build-b", march=emu.MARCH)
    tree = tmp_path / "tree-b"
    tree.mkdir()
    deploy.flash_tree(items, tree, "2-new")
    return items, tree


def test_a_new_image_that_crashes_on_its_first_boot_rolls_back(tmp_path):
    _, tree = _image_b(tmp_path, ("firmware/app.py", "\nraise RuntimeError('planted')\n"))
    active = tmp_path / "active"
    active.write_text("b a 0")  # as deploy leaves it: b on trial, a before it
    run = _run(
        "update-rollback",
        max_ms=2300,
        extra={"/img_b": str(tree / "img_a"), "/active": str(active)},
    )
    c = run.console
    assert "main: image b, version 2-new, on trial (boot 1 of 3)" in c, c
    assert "image b cannot be built; back to image a" in c
    assert [r for _, r in run.trace.resets()] != []  # the fresh start for image a
    back = run.trace.console_at("main: image a, version")
    assert back is not None and back > run.trace.resets()[0][0], c
    assert "boot check failed" not in c


def _deploy_steps(tmp_path, new_items):
    """The deploy of new_items onto the emulated board's files, as scripts for its REPL: each
    step one file (/drv/N.py), the files mpremote would send under /drv/up/."""
    from folderboard import FolderBoard

    old = deploy.build(out=tmp_path / "build-a", march=emu.MARCH)
    board = tmp_path / "folder"
    board.mkdir()
    deploy.flash_tree(old, board, deploy.version_string())
    steps, uploads = [], []

    class Recorder(FolderBoard):
        def exec(self, code, timeout=60):
            steps.append(code.replace("R = %r" % str(board), "R = '.'"))
            return super().exec(code, timeout)

        def put(self, files):
            up = [
                ("/drv/up/%d" % (len(steps) * 1000 + i), str(local), dest)
                for i, (local, dest) in enumerate(files)
            ]
            steps.append("".join("cp(%r, %r)\n" % (u, d) for u, _, d in up))
            uploads.extend(up)
            return super().put(files)

    rec = Recorder(board)
    deploy.install(rec, new_items, "2-new", "6.3", broot=str(board), work=tmp_path)
    drv = tmp_path / "drv"
    (drv / "up").mkdir(parents=True)
    cp = (
        "def cp(a, b):\n    with open(a, 'rb') as s, open('.' + b, 'wb') as d:\n"
        "        d.write(s.read())\n"
    )
    for n, code in enumerate(steps):
        (drv / ("%d.py" % n)).write_text((cp if code.startswith("cp(") else "") + code)
    for up, local, _ in uploads:
        shutil.copyfile(local, drv / "up" / Path(up).name)
    runner = "for n in range(%d):\n    print('STEP', n)\n" % len(steps)
    runner += "    exec(open('/drv/%d.py' % n).read(), {})\nprint('DEPLOYED')\n"
    (drv / "run.py").write_text(runner)
    return drv


def test_a_power_cut_during_a_deploy_boots_the_old_image_the_new_one_or_safe(tmp_path):
    cuts = int(os.environ.get("PICO_CUTS", "0"))
    if cuts < 1:
        pytest.skip("power cuts on the emulated Pico: set PICO_CUTS=N (about 1 min a cut)")
    new, _ = _image_b(tmp_path, ("firmware/core/leds.py", "\nDEPLOY_TEST = 1\n"))
    drv = _deploy_steps(tmp_path, new)
    hold = tmp_path / "hold"
    hold.write_text("")
    s = stim.Stim()
    s.console(800, "exec(open('/drv/run.py').read())\r")
    extra = {"/drv": str(drv), "/.deploy_hold": str(hold)}
    whole = _run("update-deploy", s, max_ms=4500, extra=extra, save_fs=tmp_path / "whole.img")
    c = whole.console
    assert "main: parked for deploy" in c and "DEPLOYED" in c, c
    t0, t1 = whole.trace.console_at("STEP 0"), whole.trace.console_at("DEPLOYED")
    boot = _run("update-deploy-boot", fs_image=tmp_path / "whole.img", max_ms=1500)
    assert "main: image b, version 2-new, on trial (boot 1 of 3)" in boot.console, boot.console
    seen = []
    # half the cuts spread over the whole deploy; half within the last 12 ms of its last step,
    # where the renames of the switch are (the step's first 200 ms compile main.py's source)
    spread = (cuts + 1) // 2
    times = [t0 + (t1 - t0) * (k + 1) / (spread + 1) for k in range(spread)]
    times += [t1 - 12_000 * (k + 1) / (cuts - spread + 1) for k in range(cuts - spread)]
    for k, t_us in enumerate(times):
        t_ms = t_us / 1000
        img = tmp_path / ("cut%d.img" % k)
        _run("update-cut", s, max_ms=t_ms, extra=extra, save_fs=img)
        after = _run("update-cut-boot", fs_image=img, max_ms=2200)
        c = after.console
        if "main: image a, version" in c:
            seen.append("old")
        elif "main: image b, version 2-new" in c:
            seen.append("new")
        else:
            failed = after.trace.console_at("boot check failed")
            assert failed is not None, c
            _assert_safe_state(after, failed)
            seen.append("safe")
    print("power cut at %s ms of the deploy: %s" % ([round(t / 1000) for t in times], seen))
