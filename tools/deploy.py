"""Deploy the firmware to a board: compile with mpy-cross, copy what changed, verify, reset.

    python -m tools.deploy --port /dev/ttyACM0      (or: make deploy PORT=/dev/ttyACM0)
    python -m tools.deploy --dry-run                no board needed: list files and .mpy sizes

Steps on a board:
 1. Ask the board for its platform and mpy version (sys.implementation._mpy) and refuse to go on
    if mpy-cross emits another version (a board would refuse the .mpy files at import).
 2. Park the firmware: write /.deploy_hold and reset. main.py sees the file, deletes it, keeps the
    outputs floating and stops at the REPL without starting the app or the watchdog (a running
    watchdog would reset the board in the middle of the copy).
 3. Compile every board file except boot.py/main.py (which the board only runs as .py) into
    out/deploy/, read the board's sha256 of each target file, copy only the ones that differ,
    delete stale files in /firmware and /lib (a stale .py would shadow its new .mpy).
 4. Read every hash back and compare; then reset so the new firmware starts.
Settings (/settings.json) stay untouched unless --settings FILE is given (checked on the host
against the firmware's settings table first, for the board's profile); the event log is never
touched.
--park only parks the firmware, so mpremote can work at the REPL (a reset runs it again).
--no-reset is for a MicroPython that cannot reset (the unix port behind a pty, as
tests/host/test_deploy_vm.py drives it): mpremote resumes instead of soft-resetting (Ctrl-D ends
that process), and steps 2 and 4's resets are skipped, so no firmware is parked or restarted.
"""

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tools.board_files import ROOT, board_files

OUT = ROOT / "out" / "deploy"
HOLD_FILE = "/.deploy_hold"
AS_SOURCE = ("boot.py", "main.py")
SETTINGS = "/settings.json"
PLATFORM_BOARDS = {"rp2": "pico", "esp32": "esp32"}  # sys.platform -> board profile
OWNED_DIRS = ("firmware", "lib")
ARCHS = (
    None,
    "x86",
    "x64",
    "armv6",
    "armv6m",
    "armv7m",
    "armv7em",
    "armv7emsp",
    "armv7emdp",
    "xtensa",
    "xtensawin",
    "rv32imc",
    "rv64imc",
)

# Runs on the board: "H path sha256" for every file under the owned folders and the top files
# (boot.py, main.py and settings.json, which --settings installs and verify must see).
# R is the filesystem root ("" on a board; a folder when tests run it on the unix port).
HASH_SCRIPT = """
import os, hashlib, binascii
R = %r
def h(p):
    d = hashlib.sha256()
    b = bytearray(512)
    with open(R + p, 'rb') as f:
        while True:
            n = f.readinto(b)
            if not n:
                break
            d.update(b[:n] if n < 512 else b)
    return binascii.hexlify(d.digest()).decode()
def walk(p):
    try:
        items = list(os.ilistdir(R + p))
    except OSError:
        return
    for it in items:
        q = p + '/' + it[0]
        if it[1] == 0x4000:
            walk(q)
        else:
            print('H', q, h(q))
for top in %r:
    try:
        print('H', '/' + top, h('/' + top))
    except OSError:
        pass
for d in %r:
    walk('/' + d)
print('END')
"""

# Runs on the board: make the folders the copies need, remove stale files.
PREPARE_SCRIPT = """
import os
R = %r
for d in %r:
    p = ''
    for part in d.strip('/').split('/'):
        p += '/' + part
        try:
            os.mkdir(R + p)
        except OSError:
            pass
for f in %r:
    os.remove(R + f)
print('END')
"""


def hash_script(root=""):
    return HASH_SCRIPT % (root, AS_SOURCE + (SETTINGS.lstrip("/"),), OWNED_DIRS)


def prepare_script(copy, stale, root=""):
    dirs = sorted({str(Path(dest).parent) for dest, _ in copy} - {"/"})
    return PREPARE_SCRIPT % (root, dirs, list(stale))


class DeployError(Exception):
    """One clear line for the user; main() prints it and exits non-zero."""


def find_tool(name):
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if not found:
        raise DeployError("no `%s` found: run `make setup`" % name)
    return found


def mpy_cross_version(mpy_cross):
    out = subprocess.run([mpy_cross, "--version"], capture_output=True, text=True).stdout
    m = re.search(r"mpy v(\d+)\.(\d+)", out)
    if not m:
        raise DeployError("cannot read the mpy version of %s: %r" % (mpy_cross, out.strip()))
    return int(m.group(1)), int(m.group(2))


def decode_mpy(value):
    """sys.implementation._mpy -> (version, sub-version, arch name or None)."""
    arch = value >> 10
    return value & 0xFF, (value >> 8) & 3, ARCHS[arch] if arch < len(ARCHS) else None


def target_path(rel):
    """Board path of a deployed file: lib/x -> /lib/x; .py -> .mpy except boot.py/main.py."""
    rel = Path(rel).as_posix()
    if rel not in AS_SOURCE:
        rel = rel[:-3] + ".mpy"
    return "/" + rel


def build(root=ROOT, out=OUT, march=None, mpy_cross=None):
    """Compile into out/; returns [(board path, local artifact Path, size)] in deploy order."""
    root, out = Path(root), Path(out)
    mpy_cross = mpy_cross or find_tool("mpy-cross")
    if out.exists():
        shutil.rmtree(out)
    items = []
    for rel in board_files(root):
        dest = target_path(rel)
        local = out / dest.lstrip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        if rel.as_posix() in AS_SOURCE:
            shutil.copyfile(root / rel, local)
        else:
            compile_mpy(mpy_cross, root / rel, rel.as_posix(), local, march)
        items.append((dest, local, local.stat().st_size))
    return items


def compile_mpy(mpy_cross, src, name, local, march=None):
    """mpy-cross src -> local (.mpy), `name` as the source name in tracebacks."""
    cmd = [mpy_cross, "-s", name]
    if march:
        cmd.append("-march=" + march)
    cmd += ["-o", str(local), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DeployError("mpy-cross rejects %s: %s" % (name, proc.stderr.strip()))


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def plan(items, remote):
    """(to copy, stale board files to delete) from local items and the board's {path: sha256}."""
    copy = [(dest, local) for dest, local, _ in items if remote.get(dest) != sha256(local)]
    wanted = {dest for dest, _, _ in items}
    stale = sorted(
        p
        for p in remote
        if p not in wanted and p.split("/")[1] in OWNED_DIRS and p.count("/") >= 2
    )
    return copy, stale


def parse_hashes(text):
    if "END" not in text:
        raise DeployError("the board did not answer the hash query: %s" % text.strip()[-200:])
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "H":
            out[parts[1]] = parts[2]
    return out


class Board:
    """The board behind one serial port, driven through the mpremote CLI."""

    def __init__(self, port, mpremote=None, resume=False):
        self.port = port
        self.mpremote = mpremote or find_tool("mpremote")
        self.resume = ["resume"] if resume else []  # no soft reset on connecting

    def run(self, *args, timeout=60):
        cmd = [self.mpremote, "connect", self.port, *self.resume, *args]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise DeployError("no board answers on %s (timed out)" % self.port) from None
        out = proc.stdout + proc.stderr
        if proc.returncode != 0:
            if "failed to access" in out or "could not enter raw repl" in out or not out.strip():
                raise DeployError(
                    "no board answers on %s (plugged in? port held by another program?)"
                    % self.port
                )
            raise DeployError("mpremote failed: %s" % out.strip().splitlines()[-1])
        return out

    def exec(self, code, timeout=60):
        return self.run("exec", code, timeout=timeout)

    def wait(self, seconds=10.0):
        """After a reset: retry until the board answers again (USB re-enumerates on a Pico)."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                return self.exec("print('up')", timeout=10)
            except DeployError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def identify(self):
        out = self.exec("import sys; print('ID', sys.platform, sys.implementation._mpy)")
        m = re.search(r"ID (\S+) (\d+)", out)
        if not m:
            raise DeployError("unexpected answer from the board: %r" % out.strip())
        return m.group(1), int(m.group(2))

    def hold(self):
        code = "open(%r, 'w').close()\nimport machine\nmachine.reset()" % HOLD_FILE
        try:
            self.exec(code, timeout=15)
        except DeployError:
            pass  # the reset cuts the connection: expected
        time.sleep(1.0)
        self.wait()

    def hashes(self):
        return parse_hashes(self.exec(hash_script(), timeout=120))

    def copy(self, copy, stale):
        mk = prepare_script(copy, stale)
        args = ["exec", mk]
        for dest, local in copy:
            args += ["+", "fs", "cp", "-f", str(local), ":" + dest]
        self.run(*args, timeout=300)

    def reset(self):
        try:
            self.run("reset", timeout=15)
        except DeployError:
            pass


def dry_run(items, out=None):
    out = out or sys.stdout
    total = 0
    for dest, _, size in items:
        print("%-40s %7d bytes" % (dest, size), file=out)
        if dest.endswith(".mpy"):
            total += size
    print("%d files, total .mpy size %d bytes" % (len(items), total), file=out)
    return total


def check_settings(path, board=None):
    """Validate a settings file on the host with the firmware's own table for board profile
    `board` (None: the file's own `board` setting); returns its bytes."""
    from tools.settings_doc import check_file

    try:
        _, errors = check_file(path, board)
    except OSError as e:
        raise DeployError("cannot read %s: %s" % (path, e.strerror)) from None
    if errors:
        more = len(errors) - 1
        hint = " (%d more: python -m tools.settings_doc --validate %s)" % (more, path)
        raise DeployError("%s: %s%s" % (path, errors[0], hint if more else ""))
    return Path(path).read_bytes()


def deploy(port, log=print, settings=None, reset=True, root=ROOT, out=OUT):
    """Returns the board paths it copied. reset=False: --no-reset (no park, no resets)."""
    mpy_cross = find_tool("mpy-cross")
    want = mpy_cross_version(mpy_cross)
    board = Board(port, resume=not reset)
    platform, mpy = board.identify()
    ver, sub, arch = decode_mpy(mpy)
    if (ver, sub) != want:
        raise DeployError(
            "board %s runs mpy v%d.%d but mpy-cross emits v%d.%d: use a matching mpy-cross"
            % (platform, ver, sub, want[0], want[1])
        )
    log("deploy: %s on %s, mpy v%d.%d (%s)" % (platform, port, ver, sub, arch or "no native"))
    if settings is not None and platform in PLATFORM_BOARDS:
        check_settings(settings, PLATFORM_BOARDS[platform])  # as this board will read them
    items = build(root, out, march=arch, mpy_cross=mpy_cross)
    if reset:
        log("deploy: parking the firmware (outputs floating, no watchdog) for the copy")
        board.hold()
    copy, stale = plan(items, board.hashes())
    log("deploy: %d of %d files changed, %d stale" % (len(copy), len(items), len(stale)))
    if settings is not None:
        items.append((SETTINGS, Path(settings), Path(settings).stat().st_size))
        copy.append((SETTINGS, Path(settings)))
        log("deploy: settings from %s" % settings)
    if copy or stale:
        board.copy(copy, stale)
    after = board.hashes()
    bad = [dest for dest, local, _ in items if after.get(dest) != sha256(local)]
    if bad:
        raise DeployError("verify failed for %d files, e.g. %s" % (len(bad), bad[0]))
    if not reset:
        log("deploy: verified %d files by sha256; not resetting (--no-reset)" % len(items))
        return [dest for dest, _ in copy]
    log("deploy: verified %d files by sha256; resetting" % len(items))
    board.reset()
    return [dest for dest, _ in copy]


def park(port, log=print):
    """Park the firmware: outputs floating, no app, no watchdog, the REPL free for mpremote."""
    board = Board(port)
    board.identify()
    board.hold()
    log("deploy: firmware parked on %s (outputs floating, no watchdog); reset to run it" % port)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m tools.deploy",
        description="Compile the board files with mpy-cross, copy only what changed with "
        "mpremote, verify by sha256 and reset the board.",
    )
    ap.add_argument("--port", help="serial port of the board, e.g. /dev/ttyACM0")
    ap.add_argument(
        "--dry-run",
        action="store_true",
        help="no board: build out/deploy, list every file and the total .mpy size",
    )
    ap.add_argument(
        "--settings",
        metavar="FILE",
        help="also install FILE as /settings.json (checked against the firmware's settings "
        "table first, for the connected board's profile); without it the board's settings stay "
        "as they are",
    )
    ap.add_argument(
        "--board",
        choices=sorted(PLATFORM_BOARDS.values()),
        help="with --settings: the board profile to check FILE for before connecting (default: "
        "the file's own `board` setting); the connected board's own profile is checked too",
    )
    ap.add_argument(
        "--park",
        action="store_true",
        help="only park the firmware (outputs floating, no watchdog) so mpremote can work at "
        "the REPL; a reset runs it again",
    )
    ap.add_argument(
        "--no-reset",
        action="store_true",
        help="for a MicroPython that cannot reset (the unix port behind a pty, used by the "
        "tests): no soft reset on connecting, no parking, no reset at the end",
    )
    args = ap.parse_args(argv)
    try:
        if args.settings:
            check_settings(args.settings, args.board)
        if args.dry_run:
            dry_run(build())
            return 0
        if not args.port:
            ap.error("give --port (e.g. --port /dev/ttyACM0) or --dry-run")
        if args.park:
            if args.no_reset:
                ap.error("--park resets the board: it cannot go with --no-reset")
            park(args.port)
            return 0
        deploy(args.port, settings=args.settings, reset=not args.no_reset)
        return 0
    except DeployError as e:
        print("deploy: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
