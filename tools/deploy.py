"""Deploy the firmware to a board: compile with mpy-cross, install as a new image, verify, switch.

    python -m tools.deploy --port /dev/ttyACM0      (or: make deploy PORT=/dev/ttyACM0)
    python -m tools.deploy --port /dev/ttyACM0 --info   the running image's version and state
    python -m tools.deploy --dry-run                no board needed: list files and .mpy sizes

The board keeps two images, /img_a and /img_b; /active names the one that runs (startup.py's header
has the layout). Steps on a board:
 1. Lock the port (a second deploy is refused), ask the board for its platform and mpy version
    (sys.implementation._mpy) and refuse to go on if mpy-cross emits another version.
 2. Park the firmware: write /.deploy_hold and reset. main.py sees the file, deletes it, keeps the
    outputs floating and stops at the REPL without starting the app or the watchdog.
 3. Read the board's images (the boot check of each, the running one's manifest) and free space;
    refuse if the new image does not fit. Stage the new image in the other slot: the files the
    running image has unchanged are copied on the board, the others over USB, its MANIFEST last;
    changed boot.py/main.py/startup.py wait in /img_top.new/.
 4. Run the boot check (startup.py) on the staged files on the board. If it passes: rename the top
    files into place and write /active (one rename): "NEW OLD 0", the new image on trial. Reset.
    The board's main.py confirms it after it ran for a while, or goes back to the old one.
An interrupted deploy leaves /active as it was: the old image runs. Settings (/settings.json) stay
untouched unless --settings FILE is given (checked on the host against the firmware's settings
table first, for the board's profile); the event log is never touched.
--park only parks the firmware, so mpremote can work at the REPL (a reset runs it again).
--no-reset is for a MicroPython that cannot reset (the unix port behind a pty, as
tests/host/test_deploy_vm.py drives it): mpremote resumes instead of soft-resetting (Ctrl-D ends
that process), and steps 2 and 4's resets are skipped, so no firmware is parked or restarted.
"""

import argparse
import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tools import deploy_board as bd
from tools.board_files import ROOT, board_files
from tools.deploy_board import DeployError
from tools.deploy_image import (  # noqa: F401  (re-exported: the install is deploy's API)
    AS_SOURCE,
    OUT,
    SETTINGS,
    describe,
    flash_tree,
    install,
    loader,
    split,
    version_string,
)

PLATFORM_BOARDS = {"rp2": "pico", "esp32": "esp32"}  # sys.platform -> board profile
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
    """Board path of a deployed file: lib/x -> /lib/x; .py -> .mpy except the top files."""
    rel = Path(rel).as_posix()
    if rel not in AS_SOURCE:
        rel = rel[:-3] + ".mpy"
    return "/" + rel


def build(root=ROOT, out=OUT, march=None, mpy_cross=None, lines=False):
    """Compile into out/; returns [(board path, local artifact Path, size)] in deploy order.
    lines=True keeps line numbers (see compile_mpy): for tests, never for a board."""
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
            compile_mpy(mpy_cross, root / rel, module_name(rel), local, march, lines)
        items.append((dest, local, local.stat().st_size))
    return items


def module_name(rel):
    """The dotted import name of a board file ("lib/vebus/frame.py" -> "vebus.frame"): the
    source name its .mpy carries. The board interns that string for the module anyway, where a
    path would be one more name in RAM for every module."""
    parts = list(Path(rel).with_suffix("").parts)
    if parts[0] == "lib":
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def compile_mpy(mpy_cross, src, name, local, march=None, lines=False):
    """mpy-cross src -> local (.mpy), `name` as the source name in tracebacks.

    -O3 (unless lines): no line numbers in the bytecode, 2 KB less heap on a Pico, where the
    bytecode of a .mpy is loaded into RAM; a traceback still names each module and function, its
    line numbers read 1 (the same code on the VM, `make vmtest`, shows the lines)."""
    cmd = [mpy_cross, "-s", name] + ([] if lines else ["-O3"])
    if march:
        cmd.append("-march=" + march)
    cmd += ["-o", str(local), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise DeployError("mpy-cross rejects %s: %s" % (name, proc.stderr.strip()))


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


@contextlib.contextmanager
def port_lock(port):
    """One deploy per port at a time (an flock, released when the process ends)."""
    name = re.sub(r"[^A-Za-z0-9]+", "_", os.path.realpath(port))
    path = Path(tempfile.gettempdir()) / ("bms-deploy%s.lock" % name)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise DeployError(
                "another deploy is using %s: wait for it to end (the board keeps its image)" % port
            ) from None
        yield


def connect(port, reset, log):
    """The board, after the mpy version check: (Board, arch for mpy-cross, mpy-cross, "v.s",
    its sys.platform)."""
    mpy_cross = find_tool("mpy-cross")
    want = mpy_cross_version(mpy_cross)
    board = bd.Board(port, find_tool("mpremote"), resume=not reset)
    platform, mpy = board.identify()
    ver, sub, arch = decode_mpy(mpy)
    if (ver, sub) != want:
        raise DeployError(
            "board %s runs mpy v%d.%d but mpy-cross emits v%d.%d: use a matching mpy-cross"
            % (platform, ver, sub, want[0], want[1])
        )
    log("deploy: %s on %s, mpy v%d.%d (%s)" % (platform, port, ver, sub, arch or "no native"))
    return board, arch, mpy_cross, "%d.%d" % want, platform


def deploy(port, log=print, settings=None, reset=True, root=ROOT, out=OUT):
    """Install root's firmware; returns install()'s answer. reset=False: --no-reset."""
    with port_lock(port):
        board, arch, mpy_cross, mpy, platform = connect(port, reset, log)
        if settings is not None and platform in PLATFORM_BOARDS:
            check_settings(settings, PLATFORM_BOARDS[platform])  # as this board will read them
        items = build(root, out, march=arch, mpy_cross=mpy_cross)
        if reset:
            log("deploy: parking the firmware (outputs floating, no watchdog) for the copy")
            board.hold()
        done = install(board, items, version_string(root), mpy, log, settings, work=out)
        if not reset:
            log("deploy: not resetting (--no-reset)")
        elif done is not None:
            log("deploy: resetting")
            board.reset()
        return done


def info(port, log=print, reset=True):
    """Print the board's images; the connection stops the firmware, so reset it after."""
    with port_lock(port):
        board = bd.Board(port, find_tool("mpremote"), resume=not reset)
        for line in describe(bd.state(board), loader().CAUSES):
            log("deploy: " + line)
        if reset:
            board.reset()


def park(port, log=print):
    """Park the firmware: outputs floating, no app, no watchdog, the REPL free for mpremote."""
    with port_lock(port):
        board = bd.Board(port, find_tool("mpremote"))
        board.identify()
        board.hold()
    log("deploy: firmware parked on %s (outputs floating, no watchdog); reset to run it" % port)


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m tools.deploy",
        description="Compile the board files with mpy-cross and install them on the board as "
        "a new image beside the running one (only changed files go over USB); the board checks "
        "it, then it becomes active in one step and runs on trial after a reset. An interrupted "
        "or refused deploy leaves the running image as it was.",
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
        "--info",
        action="store_true",
        help="show the board's images: the running one's version string, its boot check, "
        "trial state and the previous image (stops the firmware to ask; resets it after)",
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
        if args.info:
            info(args.port, reset=not args.no_reset)
            return 0
        deploy(args.port, settings=args.settings, reset=not args.no_reset)
        return 0
    except DeployError as e:
        print("deploy: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
