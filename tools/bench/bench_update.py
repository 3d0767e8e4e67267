"""What startup.py's boot check adds to every boot, on the emulated Pico (tools/pico), in emulated
time from the harness's cycle markers (not the firmware's clock).

The board's files after a deploy (tools/pico builds them with deploy.flash_tree), with a probe as
/main.py that runs startup.py's code (/loader.py, also listed in the top MANIFEST, so the check
reads it too) between cycle markers:
    pico_main_compile_ms      reading and compiling startup.py's source (every boot does it)
    pico_boot_check_ms        the check: the top files and the whole image against their
                              MANIFESTs, and /active (GOALS: <= 150)
    pico_boot_start_ms        all of startup.start(): the check, the event record (a flash write),
                              the console line, sys.path
    pico_image_crc_ms         the image's files alone: open, read, CRC-32
    pico_image_sha256_ms      the same files through hashlib.sha256 instead (the rejected choice)
    pico_image_read_ms        the same files only opened and read (the floor of any check)
"""

import sys
import tempfile
from pathlib import Path

from tools.board_files import ROOT

GOALS = {"pico_boot_check_ms": ("<=", 150)}
START, STOP = 0x40058014, 0x40058018

PROBE = """
from machine import mem32
import hashlib
mem32[%(start)d] = 1
g = {'__name__': 'probe'}
exec(open('/loader.py').read(), g)
mem32[%(stop)d] = 1
mem32[%(start)d] = 6
g['check']('/', '')
p = g['pointer']('/')
g['check']('/', 'img_' + p[0] + '/')
mem32[%(stop)d] = 6
mem32[%(start)d] = 2
r = g['start']('/')
mem32[%(stop)d] = 2
m = g['read_manifest']('/img_a/MANIFEST')
files = ['/img_a/' + f[0] for f in m['files']]
buf = bytearray(4096)
mv = memoryview(buf)
mem32[%(start)d] = 3
g['check']('/', 'img_a/')
mem32[%(stop)d] = 3
mem32[%(start)d] = 4
for p in files:
    d = hashlib.sha256()
    with open(p, 'rb') as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            d.update(mv[:n])
mem32[%(stop)d] = 4
mem32[%(start)d] = 5
for p in files:
    with open(p, 'rb') as f:
        while f.readinto(buf):
            pass
mem32[%(stop)d] = 5
print('PROBE', r, len(files), sum(f[1] for f in m['files']))
""" % {"start": START, "stop": STOP}

KEYS = (
    (1, "pico_main_compile_ms"),
    (6, "pico_boot_check_ms"),
    (2, "pico_boot_start_ms"),
    (3, "pico_image_crc_ms"),
    (4, "pico_image_sha256_ms"),
    (5, "pico_image_read_ms"),
)
MARKER_US = 744 / 125  # a start/stop pair with nothing between (rp2emu README)


def run():
    from tools import deploy, deploy_image
    from tools.pico import emu

    main = deploy.loader()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        probe, top = tmp / "probe.py", tmp / "MANIFEST"
        probe.write_text(PROBE)
        files = {"boot.py": ROOT / "boot.py", "main.py": probe, "loader.py": ROOT / "startup.py"}
        top.write_text(main.manifest([(p, *deploy_image.crc(lo)) for p, lo in files.items()]))
        extra = {"/main.py": str(probe), "/loader.py": str(ROOT / "startup.py"), "/MANIFEST": top}
        try:
            r = emu.run("bench-boot-check", [], max_ms=3000, extra=extra)
        except emu.PicoSkip as e:
            print("bench: pico_boot_check_ms skipped: %s" % e, file=sys.stderr)
            return {}
    if "PROBE ('a', None)" not in r.console:
        raise emu.PicoError("boot check probe failed: %s" % r.console.strip()[-200:])
    out = {}
    for sid, key in KEYS:
        ((_, _, us),) = r.trace.sections(sid)
        out[key] = round((us - MARKER_US) / 1000, 1)
    n, size = r.console.split("PROBE ('a', None)")[1].split()[:2]
    out["pico_image_files"] = int(n)
    out["pico_image_bytes"] = int(size)
    return out


if __name__ == "__main__":
    for k, v in sorted(run().items()):
        print(k, v)
