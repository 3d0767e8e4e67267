# startup.py: what only the start needs, imported by main.py (after boot.py floated the outputs)
# and dropped once the app is built. The boot check first: the firmware image named by /active
# must match its MANIFEST (and boot.py/main.py/startup.py the top MANIFEST) before anything of it
# is imported; then the app is built from that image. A failed check or an app that cannot be
# built: outputs floating, RS485 drivers off, the status LED at ~15 Hz, the event logged, the REPL
# free for a new deploy, no reset. A new image runs on trial: if it has not run CONFIRM_MS within
# TRIAL_BOOTS boots (a crash, a watchdog reset), or fails its check or its build, the previous
# image comes back (main.py confirms it). A file /.deploy_hold (written by tools/deploy.py) is
# consumed and parks the firmware for a copy: outputs floating, no app, no watchdog. Once the app
# is built, a board lets go of this module and of what only the start needs (let_go: their code
# would otherwise stay in RAM; docs/bench-testing.md, the heap).
#
# On flash (tools/deploy.py writes it): /img_a/ and /img_b/ hold an image each (firmware/, lib/,
# MANIFEST); /active says which runs: "a" (confirmed) or "b a 1" (b on trial, a before it, 1 boot
# tried). MANIFEST lines: "version STR", "mpy 6.3", "file PATH SIZE CRC32", last "end CRC32" over
# every byte before it. A CRC-32, not sha256: it finds any damage as surely for a fraction of the
# boot time (docs/bench-testing.md has the figures); a hash would not authenticate anything here.
import binascii  # noqa: I001  (once: each import statement searches the filesystem first)
import sys

HOLD_FILE = ".deploy_hold"
POINTER = "active"
MANIFEST = "MANIFEST"
IMG = "img_"
TRIAL_BOOTS = 3
CONFIRM_MS = 30000
# firmware/core/leds.py PAT_FAULTY_APP: ~15 flashes a second; the status LED per platform as in
# the board profiles (tests/test_update.py keeps both equal)
FAULTY_HALF_PERIOD_MS = 33
STATUS_LED = {"esp32": 2, "rp2": 25}
# Event codes (firmware/app_texts.py has their words; repeated: this path must not depend
# on the image). The boot check's causes go in the event's reason field.
EV_SETTINGS = 40
EV_SETTINGS_MISSING = 41
EV_IMAGE = 45
EV_IMAGE_BAD = 46
EV_ROLLBACK = 47
CAUSES = (
    "",
    "no image installed",
    "manifest missing or damaged",
    "file missing or damaged",
    "image built for another mpy version",
    "the app cannot be built",
    "not confirmed within its first boots",
)
BAD_POINTER = 1
BAD_MANIFEST = 2
BAD_FILE = 3
BAD_MPY = 4
BAD_BUILD = 5
BAD_TRIAL = 6
# Modules the running app holds nothing of: the settings table (the App keeps the values it
# read), the board profiles (the Board keeps its PROFILE, not the module), the vebus package's
# re-exports (the app holds what it imported from its submodules), the Board's construction,
# and the `rp2` module the port's _boot.py imports to mount the flash (its PIO assembler: this
# firmware uses no PIO).
START_MODULES = (
    "firmware.core.settings",
    "firmware.hw.board_pico",
    "firmware.hw.board_esp32",
    "vebus",
    "firmware.hw.board_start",
    "rp2",
)
_blinker = None


def crc32_file(path, buf, crc=0):
    """(CRC-32, size) of a file, read through buf."""
    mv = memoryview(buf)
    size = 0
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                return crc, size
            crc = binascii.crc32(mv[:n], crc)
            size += n


def manifest(files, version="", mpy=""):
    """MANIFEST text of [(path, size, crc32)] (tools/deploy.py writes it; here for one format)."""
    text = "".join("%s %s\n" % kv for kv in (("version", version), ("mpy", mpy)) if kv[1])
    text += "".join("file %s %d %08x\n" % f for f in files)
    return text + "end %08x\n" % binascii.crc32(text.encode())


def read_manifest(path):
    """{"version":..., "mpy":..., "files": [(path, size, crc)]} or None if missing or damaged."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        i = data.rfind(b"end ")
        whole = i >= 0 and (i == 0 or data[i - 1] == 10)
        if not whole or binascii.crc32(data[:i]) != int(data[i + 4 :], 16):
            return None
        out = {"version": "", "mpy": "", "files": []}
        w = data[:i].decode().split()  # one split: the fewest objects (this runs at every boot)
        k = 0
        while k < len(w):
            if w[k] == "file":
                out["files"].append((w[k + 1], int(w[k + 2]), int(w[k + 3], 16)))
                k += 4
            else:
                out[w[k]] = w[k + 1]
                k += 2
        return out
    except (OSError, ValueError, UnicodeError, IndexError):
        return None


def mpy_version():
    """This MicroPython's mpy version, "6.3" (None on CPython: nothing to compare)."""
    m = getattr(sys.implementation, "_mpy", None)
    return None if m is None else "%d.%d" % (m & 0xFF, m >> 8 & 3)


def check(root, d=""):
    """(0, version) if every file of root+d+MANIFEST matches it, else (cause, what failed)."""
    m = read_manifest(root + d + MANIFEST)
    if m is None:
        return BAD_MANIFEST, d + MANIFEST
    here = mpy_version()
    if m["mpy"] and here and m["mpy"] != here:
        return BAD_MPY, "mpy v%s, this MicroPython loads v%s" % (m["mpy"], here)
    # Small: once garbage, a stale word on the C stack (the collector scans it conservatively)
    # can keep it for the whole run; a 4 KB one did, at some heap layouts (emulated Pico).
    buf = bytearray(512)
    for path, size, crc in m["files"]:
        try:
            if crc32_file(root + d + path, buf) != (crc, size):
                return BAD_FILE, d + path
        except OSError:
            return BAD_FILE, d + path
    return 0, m["version"]


def pointer(root):
    """(image, previous image or None, boots tried) from /active, or None."""
    try:
        with open(root + POINTER) as f:
            p = f.read().split()
        if len(p) == 1:
            return p[0], None, 0
        if len(p) == 3:
            return p[0], p[1], int(p[2])
    except (OSError, ValueError):
        pass
    return None


def set_pointer(root, cur, prev=None, tries=0):
    """Write /active in one step: a new file renamed over the old one (atomic on LittleFS)."""
    import os

    with open(root + POINTER + ".new", "w") as f:
        f.write(cur if prev is None else "%s %s %d" % (cur, prev, tries))
    os.rename(root + POINTER + ".new", root + POINTER)


def log_event(root, code, reason, arg):
    """One record appended to events.log (firmware/core/eventfile.py's format, boot number 0)."""
    import struct

    rec = bytearray(struct.pack("<BBHiIHH", 0xEB, code, reason, arg, 0, 0, 0))
    crc = 0xFFFF  # CRC-16/CCITT-FALSE, as firmware/core/crc.py
    for b in rec[:14]:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xFFFF
    rec[14], rec[15] = crc & 0xFF, crc >> 8
    try:
        with open(root + "events.log", "ab") as f:
            f.write(rec)
    except OSError:
        pass


def build_number(version):
    """The leading number of a version string ("412-845dd9f" -> 412; 0 if none)."""
    try:
        return int(version.split("-")[0])
    except ValueError:
        return 0


def start(root="/"):
    """The boot check: (image, previous or None) to run, with sys.path set; or None after
    entering the safe state (outputs floating, status LED at ~15 Hz, event logged)."""
    bad = check(root)
    if bad[0]:
        return fail(root, *bad)
    p = pointer(root)
    if p is None:
        return fail(root, BAD_POINTER, POINTER)
    cur, prev, tries = p
    if prev is not None and tries >= TRIAL_BOOTS:
        return rollback(root, cur, prev, BAD_TRIAL, "%d boots" % tries)
    bad = check(root, IMG + cur + "/")
    if bad[0]:
        if prev is not None:
            return rollback(root, cur, prev, *bad)
        return fail(root, *bad)
    if prev is not None:
        set_pointer(root, cur, prev, tries + 1)
    version = bad[1]
    log_event(root, EV_IMAGE, 0 if prev is None else tries + 1, build_number(version))
    trial = "" if prev is None else ", on trial (boot %d of %d)" % (tries + 1, TRIAL_BOOTS)
    print("main: image %s, version %s%s" % (cur, version, trial))
    sys.path[:0] = [root + IMG + cur, root + IMG + cur + "/lib"]
    return cur, prev


def rollback(root, cur, prev, cause, what):
    """Back to the previous image (confirmed: it ran before), then its own boot check."""
    print("main: image %s failed: %s (%s); back to image %s" % (cur, CAUSES[cause], what, prev))
    set_pointer(root, prev)
    log_event(root, EV_ROLLBACK, cause, cause)
    return start(root)


def outputs_safe(root):
    """boot.py's statements again: outputs floating, DE low, without the image (not checked
    yet, or failed its check)."""
    try:
        with open(root + "boot.py") as f:
            exec(f.read(), {})
    except Exception:
        pass  # at reset the RP2040's pins are inputs with pull-down: outputs and DE off


def fail(root, cause, what):
    """The state the manual's BMS shows when its application cannot run: outputs floating,
    RS485 drivers off (boot.py's statements again), status LED at ~15 Hz, REPL free."""
    global _blinker
    outputs_safe(root)
    log_event(root, EV_IMAGE_BAD, cause, cause)
    # `machine` directly, the one place outside firmware/hw and boot.py on purpose: the image is
    # not to be trusted (nothing of it is imported here) and boot.py may be the damaged file
    # (tests/test_update.py flips a bit in it), yet the 15 Hz sign must show.
    import machine

    led = machine.Pin(STATUS_LED.get(sys.platform, 25), machine.Pin.OUT, value=1)
    _blinker = machine.Timer(
        0 if sys.platform == "esp32" else -1,
        mode=machine.Timer.PERIODIC,
        period=FAULTY_HALF_PERIOD_MS,
        callback=lambda t: led(not led()),
    )
    print("main: boot check failed: %s (%s)" % (CAUSES[cause], what))
    print("main: outputs floating, status LED at 15 Hz; run tools/deploy.py to install an image")
    return None


def build(root="/", ticks_ms=None, settings=None):
    """The App for this board: settings from root/settings.json (defaults if missing or bad)."""
    import gc
    import os
    import time

    from firmware.app import App
    from firmware.core import settings as st
    from firmware.hw.board import Board, platform_board_name

    errors = ()
    missing = False
    if settings is None:
        path = root + "settings.json"
        try:
            os.stat(path)
        except OSError:
            missing = True
        settings, errors = st.load(path, platform_board_name())  # this board's profile
        for e in errors:
            print("settings:", e)
    # The imports and the settings file leave garbage all over the heap: collected now, the
    # app's long-lived objects fill it from the bottom instead of settling between the holes
    # (tools/bench/bench_board.py's run with these imports inside build: least heap 10 KB less).
    gc.collect()
    board = Board.from_settings(settings)
    app = App(board, settings, ticks_ms or time.ticks_ms, root)
    # Into the event log too: "why are my settings ignored" must be readable after the fact.
    if errors:
        app.log.record(app.ticks(), EV_SETTINGS, 0, len(errors))
    elif missing:
        app.log.record(app.ticks(), EV_SETTINGS_MISSING, 0, 0)
    return app


def let_go():
    """Drop START_MODULES and this module (their code and tables leave the heap).
    docs/bench-testing.md has the figures for a Pico."""
    # on a board __main__ is main.py, whose globals _boot.py's statements share
    __import__("__main__").__dict__.pop("rp2", None)
    for name in START_MODULES + ("startup",):
        sys.modules.pop(name, None)
        parent, _, leaf = name.rpartition(".")
        pkg = sys.modules.get(parent)
        if pkg is not None and leaf in pkg.__dict__:
            delattr(pkg, leaf)


def held(root="/"):
    """True (and the file removed) if tools/deploy.py asked to park the firmware."""
    import os

    try:
        os.remove(root + HOLD_FILE)
    except OSError:
        return False
    return True


def reset():
    import machine

    machine.reset()


def print_exception(e):
    try:
        sys.print_exception(e)  # pyright: ignore[reportAttributeAccessIssue]
    except Exception:
        print(repr(e))  # CPython (tests)


def boot(root="/"):
    """The start: (app, image, previous image or None) to run; or None when parked for a deploy
    or in the safe state (the boot check failed, the app cannot be built)."""
    if held(root):
        outputs_safe(root)
        print("main: parked for deploy (outputs floating, no app, no watchdog)")
        return None
    started = start(root)
    if started is None:
        return None
    cur, prev = started
    try:
        return build(root), cur, prev
    except Exception as e:  # an import or the construction: this image cannot run
        print_exception(e)
        if prev is None:
            return fail(root, BAD_BUILD, repr(e))
        print("main: image %s cannot be built; back to image %s" % (cur, prev))
        set_pointer(root, prev)
        log_event(root, EV_ROLLBACK, BAD_BUILD, BAD_BUILD)
        reset()  # its modules are loaded: a fresh start for the previous image
        return None
