"""Run the deployed firmware on the emulated Pico (../shared/rp2emu): one call, one Run.

    from tools.pico import emu, stim
    s = stim.Stim(); s.multi(0, 5000); s.btv_ok(0)
    run = emu.run("smoke", s, max_ms=5000, settings={"vebus_mode": "bms"})
    run.trace       # trace.Trace: pins, UART bytes, frames, resets, console (emulated times)
    run.summary     # run.mjs --json summary (exit reason, cycles, sections, ...)

The board image is what tools/deploy.py builds (its build(), -march=armv6m: the Pico's mpy), plus
/settings.json; `fs_image` boots from a saved LittleFS image instead and `save_fs` writes the
board's filesystem back out at the end (a power cut: run again from that image). `extra` adds
files (dest path -> local path) on top, e.g. the measurement probe (tools/pico/probe).

What is needed, and what is said when it is missing (PicoSkip: nothing to run here; PicoError:
something is wrong, one line, never a silent pass):
  - the harness: ../shared/rp2emu/run.mjs (or $PICO_EMU_DIR), its boot ROM and node;
  - the firmware: $PICO_FIRMWARE (.uf2 or .bin, e.g. the official RPI_PICO download), else
    firmware/firmware.bin of the harness;
  - rp2040js: $RP2040JS_DIR, else tools/pico/node_modules/rp2040js (`make setup`: npm ci);
  - littlefs-python in this Python (pyproject's dev list) for the filesystem image.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tools.board_files import ROOT
from tools.pico.trace import Trace, TraceError

HERE = Path(__file__).resolve().parent
OUT = ROOT / "out" / "pico"
PROBE = HERE / "probe" / "main.py"  # cycle markers and trigger pins
HEAP_PROBE = HERE / "probe" / "heap.py"  # the heap reading alone
UF2_MAGIC = (0x0A324655, 0x9E5D5157)
RP2040_FAMILY = 0xE48BFF56
MARCH = "armv6m"  # the Pico's mpy architecture (sys.implementation._mpy of the rp2 port)


class PicoSkip(Exception):
    """Nothing to run the emulated Pico with here: one line saying what is missing."""


class PicoError(Exception):
    """The emulated run cannot be trusted or did not happen: one line saying why."""


def emu_dir():
    d = os.environ.get("PICO_EMU_DIR")
    return Path(d) if d else ROOT.parent / "shared" / "rp2emu"


def rp2040js_dir():
    d = os.environ.get("RP2040JS_DIR")
    return Path(d) if d else HERE / "node_modules" / "rp2040js"


def firmware_path():
    env = os.environ.get("PICO_FIRMWARE")
    if env:
        return Path(env)
    return emu_dir() / "firmware" / "firmware.bin"


def _crc32_mpeg2(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def check_firmware(path):
    """PicoError unless path is a plausible RP2040 image (.uf2 blocks, or a .bin with boot2)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise PicoError("firmware image %s: %s" % (path, e.strerror)) from None
    if str(path).endswith(".uf2"):
        blocks = 0
        for o in range(0, len(raw) - 511, 512):
            w = [int.from_bytes(raw[o + 4 * i : o + 4 * i + 4], "little") for i in range(8)]
            if (w[0], w[1]) == UF2_MAGIC and w[7] == RP2040_FAMILY:
                blocks += 1
        if blocks < 16 or len(raw) % 512:
            raise PicoError("firmware image %s is not an RP2040 .uf2 (damaged?)" % path)
        return
    # The boot ROM runs a .bin's first 256 bytes (boot2) only if their CRC32 matches.
    if len(raw) < 64 * 1024 or _crc32_mpeg2(raw[:252]) != int.from_bytes(raw[252:256], "little"):
        raise PicoError("firmware image %s is damaged (boot2 checksum or size wrong)" % path)


def find_tools():
    """(node, run.mjs, firmware, rp2040js) or PicoSkip / PicoError with the one-line reason."""
    edir = emu_dir()
    runner = edir / "run.mjs"
    if not runner.exists():
        raise PicoSkip("no emulated Pico: %s is not here (set PICO_EMU_DIR)" % runner)
    node = shutil.which("node")
    if not node:
        raise PicoSkip("no emulated Pico: `node` (Node.js 18+) is not installed")
    fw = firmware_path()
    if not fw.exists():
        if os.environ.get("PICO_FIRMWARE"):  # asked for by name: a typo must not pass as a skip
            raise PicoError("no firmware image %s (PICO_FIRMWARE)" % fw)
        raise PicoSkip(
            "no emulated Pico: no firmware image %s (set PICO_FIRMWARE=RPI_PICO.uf2)" % fw
        )
    js = rp2040js_dir()
    if not (js / "dist" / "esm" / "index.js").exists():
        raise PicoError("rp2040js is missing at %s: run `make setup` (npm ci)" % js)
    try:
        import littlefs  # noqa: F401
    except ImportError:
        raise PicoError(
            "littlefs-python is missing in %s: run `make setup`" % sys.executable
        ) from None
    check_firmware(fw)
    return node, runner, fw, js


# run.mjs's --rs485-echo takes one UART. A board with two RS485 ports has two transceivers, each
# echoing what its UART sends; with one echo the other port's driver waits ECHO_MS for an echo
# that never comes before it may send again. For two, a copy of run.mjs in out/pico/harness
# (with mkfs.py, which it finds beside itself) takes the option more than once: these two lines
# change, nothing else.
_ECHO_PATCH = (
    ("opt.echo = Number(v());", "(opt.echo = opt.echo || []).push(Number(v()));"),
    ("if (opt.echo === idx) {", "if ((opt.echo || []).includes(idx)) {"),
)


def echo_runner(runner):
    """The harness with --rs485-echo repeatable (see _ECHO_PATCH); PicoError if its text moved."""
    text = Path(runner).read_text()
    for old, new in _ECHO_PATCH:
        if text.count(old) != 1:
            raise PicoError(
                "%s changed: cannot give it a second --rs485-echo (no %r)" % (runner, old)
            )
        text = text.replace(old, new)
    dest = OUT / "harness"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(runner).parent / "mkfs.py", dest / "mkfs.py")
    (dest / "run.mjs").write_text(text)
    return dest / "run.mjs"


def build_image(dest, settings=None):
    """The board's files after a deploy (deploy.flash_tree: image a, the manifests, /active;
    + /settings.json) in a folder tree for run.mjs --fs."""
    from tools import deploy

    dest = Path(dest)
    items = deploy.build(out=dest.parent / "build", march=MARCH)
    dest.mkdir(parents=True, exist_ok=True)
    deploy.flash_tree(items, dest, deploy.version_string())
    if settings is not None:
        (dest / "settings.json").write_text(json.dumps(settings, indent=1) + "\n")
    return items


def _top_manifest(fs):
    """Rewrite fs/MANIFEST over fs's boot.py and main.py as they are now."""
    import zlib

    from tools import deploy

    files = []
    for name in ("boot.py", "main.py"):
        data = (fs / name).read_bytes()
        files.append((name, len(data), zlib.crc32(data)))
    (fs / "MANIFEST").write_text(deploy.loader().manifest(files))


class Run:
    """The result of one emulated run: its folder, run.mjs's summary and the parsed trace."""

    def __init__(self, name, folder, summary, trace, console):
        self.name = name
        self.folder = folder
        self.summary = summary
        self.trace = trace
        self.console = console

    @property
    def emulated_ms(self):
        return self.summary["emulated_ms"]


def run(
    name,
    stimulus,
    max_ms,
    settings=None,
    extra=None,
    probe=None,
    fs_image=None,
    save_fs=None,
    cpu_window_ms=None,
    pc_at=(),
    timeout_s=None,
    echo=(0,),
    log=None,
):
    """Build the image, run it for max_ms emulated ms with the stimulus; returns a Run.

    stimulus: a stim.Stim (or a list of run.mjs stimulus records). settings: a dict for
    /settings.json (None: the file is left out). probe: a file run as /main.py that runs the
    deployed main.py: PROBE with cycle markers and the stimulus' trigger pins (measurement
    runs); HEAP_PROBE, the heap reading alone, goes at boot.py's end instead.
    echo: the UARTs whose RS485 transceiver echoes what they send (default the Multi port's;
    () none; two: see echo_runner).
    timeout_s: wall-clock limit (default: 120 s plus 30 s per emulated second: the harness
    runs at 0.1-0.2x real time, slower on a loaded machine); a run that hits it is an error.
    """
    node, runner, fw, js = find_tools()
    if fs_image is not None and (probe or settings is not None):
        raise PicoError("%s: probe and settings go on a built image, not on fs_image" % name)
    folder = OUT / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    records = stimulus.records() if hasattr(stimulus, "records") else list(stimulus)
    stim_path = folder / "stim.json"
    stim_path.write_text(json.dumps(records))
    cmd = [node, str(runner), "--fw", str(fw), "--quiet", "--keep-running"]
    if fs_image is not None:
        cmd += ["--fs-image", str(fs_image)]
    else:
        build_image(folder / "fs", settings)
        cmd += ["--fs", str(folder / "fs")]
    extra = dict(extra or {})
    fs = folder / "fs"
    if probe == HEAP_PROBE:  # boot.py's tail: main.py runs as deployed, as __main__
        with open(fs / "boot.py", "a") as f:
            f.write(HEAP_PROBE.read_text())
    elif probe:  # the probe is main.py now
        shutil.copyfile(fs / "main.py", fs / "fw_main.py")
        shutil.copyfile(probe, fs / "main.py")
    if probe:  # the boot check's top MANIFEST says so
        _top_manifest(fs)
    for dest, local in extra.items():
        cmd += ["--fs", "%s:%s" % (local, dest)]
    if save_fs is not None:
        cmd += ["--save-fs", str(save_fs)]
    for uart in echo:
        cmd += ["--rs485-echo", str(uart)]
    if len(echo) > 1:  # its firmware and boot ROM stay where they are: RP2EMU_DIR
        cmd[1] = str(echo_runner(runner))
    if cpu_window_ms:
        cmd += ["--cpu-window-ms", str(cpu_window_ms)]
    for spec in pc_at:
        cmd += ["--pc-at", str(spec)]
    timeout_s = timeout_s or 120 + 30 * max_ms / 1000
    trace_path, summary_path = folder / "trace.jsonl", folder / "summary.json"
    cmd += ["--stim", str(stim_path), "--trace", str(trace_path), "--json", str(summary_path)]
    cmd += ["--max-ms", str(max_ms), "--timeout-s", str(int(timeout_s))]
    env = dict(
        os.environ,
        RP2040JS_DIR=str(js),
        RP2EMU_PYTHON=sys.executable,
        RP2EMU_DIR=str(runner.parent),
    )
    if log:
        log("pico: %s: %d emulated ms (up to %d s wall)" % (name, max_ms, timeout_s))
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s + 60)
    except subprocess.TimeoutExpired:
        raise PicoError("%s: the emulator did not stop within %d s" % (name, timeout_s)) from None
    (folder / "stderr.txt").write_text(proc.stderr)
    if "stop: idle-forever" in proc.stderr:
        raise PicoError("%s: the board went to sleep with nothing left to wake it" % name)
    if proc.returncode == 3 or "stop: timeout-s" in proc.stderr:
        raise PicoError(
            "%s: the emulator hit its %d s wall-clock limit (hung or too slow)" % (name, timeout_s)
        )
    if proc.returncode != 0 or not summary_path.exists():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise PicoError("%s: the emulator failed (exit %d): %s" % (name, proc.returncode, last))
    try:
        summary = json.loads(summary_path.read_text())
        trace = Trace.load(trace_path)
    except (ValueError, TraceError) as e:
        raise PicoError("%s: %s" % (name, e)) from None
    if not trace.exec_times("main.py"):
        raise PicoError("%s: main.py never started (a firmware image that does not boot?)" % name)
    return Run(name, folder, summary, trace, trace.console_text())
