"""The boot check, trial and rollback on a folder laid out as tools/deploy.py lays a board's
flash out. What a user sees is the manual's (5.2, 6): an application that cannot run leaves the
status LED flashing ~15 times a second with the BMS outputs off; here also the REPL free and no
reset loop. Every damaged image must end there, or in the previous image, never in a running app.
"""

import binascii
import os
import sys

from vmtest import ON_VM, fresh_root, mkdirs, raises

from firmware.hw.board_pico import PROFILE

machine = __import__("machine")  # the fake of tests/fakes (typed as a plain module)

_HERE = __file__.rpartition("/")[0] or "."
ROOT = _HERE.rpartition("/")[0] or "."
OUTS = tuple(p for p, _ in PROFILE["outputs"])  # load / charge disconnect, pre-alarm
DES = tuple(b[4] for b in PROFILE["bus"])
FILES = (
    ("firmware/__init__.py", b""),
    ("firmware/x.py", b"X = 1\n" * 50),
    ("lib/vebus/y.py", b"Y = 2\n"),
)


def _write(path, data):
    mkdirs(path.rpartition("/")[0])
    with open(path, "wb") as f:
        f.write(data)


def _copy(src, dst):
    """Copy a file in small pieces (the VM's heap is a board's); returns (size, CRC-32)."""
    buf = bytearray(512)
    size = crc = 0
    with open(src, "rb") as s, open(dst, "wb") as d:
        while True:
            n = s.readinto(buf)
            if not n:
                return size, crc & 0xFFFFFFFF
            d.write(buf[:n])
            crc = binascii.crc32(buf[:n], crc)
            size += n


def _manifest(root, d, files, version, mpy=""):
    import startup

    listed = [(p, len(b), binascii.crc32(b) & 0xFFFFFFFF) for p, b in files]
    _write(root + d + startup.MANIFEST, startup.manifest(listed, version, mpy).encode())


def _board(name, pointer="a", images=("a",)):
    """A board's flash: boot.py, main.py and startup.py with the top manifest, images, /active."""
    import startup

    root = fresh_root(name)
    top = [(f,) + _copy(ROOT + "/" + f, root + f) for f in ("boot.py", "main.py", "startup.py")]
    _write(root + startup.MANIFEST, startup.manifest(top).encode())
    for i, slot in enumerate(images):
        for p, b in FILES:
            _write(root + "img_" + slot + "/" + p, b)
        _manifest(root, "img_" + slot + "/", FILES, "%d-abc%d" % (40 + i, i), _mpy())
    if pointer:
        _write(root + startup.POINTER, pointer.encode())
    return root


def _mpy():
    m = getattr(sys.implementation, "_mpy", 4870)  # CPython: an rp2 board's v6.3
    return "%d.%d" % (m & 0xFF, m >> 8 & 3)


def _events(root):
    from firmware.core.eventread import records

    return [(r[0], r[1], r[2]) for r in records(root + "events.log")]


def _pointer(root):
    with open(root + "active") as f:
        return f.read()


def _start(root, driven=True):
    """startup.start, the pins driven high first unless `driven` is False (as a reset leaves them:
    nothing driven); sys.path restored after."""
    import startup

    machine.reset_fakes()
    for p in OUTS + DES if driven else ():
        machine.Pin(p, machine.Pin.OUT, value=1)
    saved = list(sys.path)
    try:
        return startup.start(root), list(sys.path)
    finally:
        sys.path[:] = saved


def _assert_safe_state(root, cause):
    """Outputs floating, DE low, status LED at ~15 Hz from a timer (REPL free), event logged."""
    import startup

    pins = machine.pins  # a pin never configured since the reset drives nothing
    assert all(pins[p].is_floating() for p in OUTS if p in pins)
    assert all(pins[p].value() == 0 for p in DES if p in pins)
    (t,) = machine.timers
    assert t.mode == machine.Timer.PERIODIC and 1000 // (2 * t.period) == 15  # flashes a second
    led = machine.pins[25]
    levels = []
    for _ in range(4):
        t.fire()
        levels.append(led.value())
    assert levels == [0, 1, 0, 1]
    assert _events(root)[-1] == (startup.EV_IMAGE_BAD, cause, cause)


def test_a_good_image_runs_from_its_folder_and_logs_its_build():
    import startup

    root = _board("update-good")
    started, path = _start(root)
    assert started == ("a", None)
    assert path[:2] == [root + "img_a", root + "img_a/lib"]
    assert _events(root) == [(startup.EV_IMAGE, 0, 40)]
    assert machine.timers == [] and _pointer(root) == "a"


def _damage(path, at):
    """Flip one bit of the byte at `at` (negative: from the end), in place."""
    at %= os.stat(path)[6]
    with open(path, "r+b") as f:
        f.seek(at)
        b = f.read(1)[0]
        f.seek(at)
        f.write(bytes([b ^ 0x01]))


def test_one_flipped_bit_anywhere_in_any_deployed_file_stops_at_the_safe_state():
    import startup

    checked = 0
    for rel in ["boot.py", "main.py", "startup.py", "MANIFEST", "img_a/MANIFEST"] + [
        "img_a/" + p for p, b in FILES if b
    ]:
        for at in (0, 7, -2):
            root = _board("update-flip")
            _damage(root + rel, at)
            # a damaged boot.py may not run: what floats the outputs is then the chip's reset
            started, _ = _start(root, driven=rel != "boot.py")
            assert started is None, (rel, at)
            cause = startup.BAD_MANIFEST if rel.endswith("MANIFEST") else startup.BAD_FILE
            _assert_safe_state(root, cause)
            checked += 1
    assert checked == 21


def test_missing_or_truncated_files_and_no_image_stop_at_the_safe_state():
    import startup

    root = _board("update-missing")
    os.remove(root + "img_a/lib/vebus/y.py")
    assert _start(root)[0] is None
    _assert_safe_state(root, startup.BAD_FILE)
    root = _board("update-trunc")
    _write(root + "img_a/firmware/x.py", FILES[1][1][:-1])  # cut short by one byte
    assert _start(root)[0] is None
    _assert_safe_state(root, startup.BAD_FILE)
    root = _board("update-none", pointer="")
    assert _start(root)[0] is None
    _assert_safe_state(root, startup.BAD_POINTER)


def test_an_image_for_another_mpy_version_stops_at_the_safe_state():
    import startup

    root = _board("update-mpy")
    _manifest(root, "img_a/", FILES, "40-abc0", "5.0")
    if not ON_VM:  # CPython has no _mpy (nothing to compare): an rp2 board's for this test
        assert startup.mpy_version() is None
        sys.implementation._mpy = 4870  # pyright: ignore[reportAttributeAccessIssue]
    try:
        assert startup.mpy_version() == "6.3"
        assert _start(root)[0] is None
    finally:
        if not ON_VM:
            del sys.implementation._mpy  # pyright: ignore[reportAttributeAccessIssue]
    _assert_safe_state(root, startup.BAD_MPY)


def test_a_new_image_on_trial_counts_its_boots_and_rolls_back_after_the_last():
    import startup

    root = _board("update-trial", pointer="b a 0", images=("a", "b"))
    for n in range(1, startup.TRIAL_BOOTS + 1):
        assert _start(root)[0] == ("b", "a")
        assert _pointer(root) == "b a %d" % n
    started, path = _start(root)  # not confirmed within TRIAL_BOOTS boots
    assert started == ("a", None) and path[0] == root + "img_a"
    assert _pointer(root) == "a" and machine.timers == []
    ev = _events(root)
    assert ev[-2:] == [
        (startup.EV_ROLLBACK, startup.BAD_TRIAL, startup.BAD_TRIAL),
        (startup.EV_IMAGE, 0, 40),
    ]
    assert ev[0] == (startup.EV_IMAGE, 1, 41)  # the trial boots, build 41


def test_a_damaged_new_image_rolls_back_at_once_and_two_damaged_ones_stop_safe():
    import startup

    root = _board("update-trial-bad", pointer="b a 0", images=("a", "b"))
    _damage(root + "img_b/firmware/x.py", 100)
    assert _start(root)[0] == ("a", None)
    assert _pointer(root) == "a"
    assert _events(root)[0] == (startup.EV_ROLLBACK, startup.BAD_FILE, startup.BAD_FILE)
    root = _board("update-trial-both", pointer="b a 1", images=("a", "b"))
    _damage(root + "img_b/MANIFEST", 3)
    _damage(root + "img_a/lib/vebus/y.py", 0)
    assert _start(root)[0] is None
    _assert_safe_state(root, startup.BAD_FILE)


def _main_with_broken_build(root):
    import main
    import startup

    real = startup.build

    def broken(root="/", ticks_ms=None, settings=None):
        raise ImportError("planted: no module named 'firmware.app'")

    startup.build = broken
    machine.reset_fakes()
    saved = list(sys.path)
    try:
        main.main(root)
    finally:
        startup.build = real
        sys.path[:] = saved


def test_an_app_that_cannot_be_built_stops_safe_without_a_reset_loop():
    import startup

    root = _board("update-build")
    _main_with_broken_build(root)  # returns: no ResetRequested, the REPL is free
    _assert_safe_state(root, startup.BAD_BUILD)
    assert machine.wdt is None


def test_a_new_image_that_cannot_be_built_goes_back_to_the_previous_and_resets():
    import startup

    root = _board("update-build-trial", pointer="b a 0", images=("a", "b"))
    raises(machine.ResetRequested, _main_with_broken_build, root)
    assert _pointer(root) == "a" and machine.timers == []
    assert _events(root)[-1] == (startup.EV_ROLLBACK, startup.BAD_BUILD, startup.BAD_BUILD)


def test_an_image_that_ran_long_enough_is_confirmed():
    import asyncio

    import main

    root = _board("update-confirm", pointer="b a 2", images=("a", "b"))
    asyncio.run(main.confirm(root, "b", 5))
    assert _pointer(root) == "b"
    assert _start(root)[0] == ("b", None)


def test_damaged_pointer_and_manifest_texts_are_refused_not_misread():
    import startup

    root = _board("update-texts")
    for text in (b"", b"a b", b"b a x", b"a b 1 2"):
        _write(root + "active", text)
        assert startup.pointer(root) is None, text
    good = startup.manifest([("f", 1, 2)], "1-x", "6.3").encode()
    assert startup.read_manifest(root + "img_a/MANIFEST") is not None
    for bad in (good[:-1] + b"0", good.replace(b"end", b"enx"), good[:20], b""):
        _write(root + "m", bad)
        assert startup.read_manifest(root + "m") is None, bad


def test_event_codes_texts_and_led_pattern_match_the_app():
    import main
    import startup
    from firmware import app_texts
    from firmware.core import leds
    from firmware.core.codes import PAT_FAULTY_APP
    from firmware.hw import board_esp32, board_pico

    assert main.EV_CRASH == app_texts.EV_CRASH in app_texts.EVENT_TEXTS  # main.py's copy
    names = ("EV_SETTINGS", "EV_SETTINGS_MISSING", "EV_IMAGE", "EV_IMAGE_BAD", "EV_ROLLBACK")
    for name in names:  # startup.py's copies of the board-side codes
        assert getattr(startup, name) == getattr(app_texts, name) in app_texts.EVENT_TEXTS, name
    p = leds.Leds()  # the app's own 15 Hz pattern: same half period as startup.py's timer
    levels = [p.level(PAT_FAULTY_APP, t) for t in range(1000)]
    assert levels.index(0) == startup.FAULTY_HALF_PERIOD_MS
    assert levels.index(1, startup.FAULTY_HALF_PERIOD_MS) == 2 * startup.FAULTY_HALF_PERIOD_MS
    for mod in (board_pico, board_esp32):
        p = mod.PROFILE
        assert startup.STATUS_LED[p["platform"]] == p["leds"][0][1]
