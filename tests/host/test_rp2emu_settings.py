"""A damaged /settings.json on the real MicroPython rp2 port (../shared/rp2emu: an emulated Pico
running the unmodified RPI_PICO firmware): the board boots on the defaults, says why on its console
and in its event log, and keeps running (no reset). Skipped with one line where the emulator, its
rp2040js package or littlefs-python is not there (a clone has no ../shared)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.app import EV_SETTINGS
from firmware.core.events import EV_BOOT
from tools import deploy
from tools.events import read
from tools.mptest import ROOT

RP2EMU = ROOT.parent / "shared" / "rp2emu"
RP2040JS = ROOT / ".venv" / "rp2040js" / "node_modules" / "rp2040js"  # make setup puts it here
MAX_MS = 2500  # emulated: boot, settings read at ~0.7 s, the log task writes flash each second


def _emulator():
    """(node, env) to run rp2emu, or pytest.skip with the one thing missing."""
    node = shutil.which("node")
    missing = (
        "../shared/rp2emu (the emulated Pico)"
        if not (RP2EMU / "run.mjs").exists()
        else "node"
        if not node
        else "rp2040js (make setup)"
        if not RP2040JS.exists()
        else None
    )
    try:
        import littlefs  # noqa: F401  (the emulator's mkfs.py and the image read back)
    except ImportError:
        missing = missing or "littlefs-python (make setup)"
    if missing:
        pytest.skip("emulated Pico: no %s" % missing)
    env = dict(os.environ, RP2040JS_DIR=str(RP2040JS), RP2EMU_PYTHON=sys.executable)
    return node, env


def _file_from_image(img, path):
    """A file of the board's LittleFS image (RPI_PICO geometry, as rp2emu/mkfs.py builds it)."""
    from littlefs import LittleFS

    fs = LittleFS(
        block_size=4096,
        block_count=352,
        read_size=32,
        prog_size=256,
        cache_size=256,
        lookahead_size=32,
        mount=False,
    )
    fs.context.buffer = bytearray(Path(img).read_bytes())
    fs.mount()
    with fs.open(path, "rb") as f:
        return f.read()


def test_a_settings_file_that_is_not_utf8_boots_the_emulated_pico_on_defaults(tmp_path):
    node, env = _emulator()
    fs = tmp_path / "fs"
    deploy.build(out=fs, march="armv6m")  # what `make deploy` copies to a Pico
    (fs / "settings.json").write_bytes(b'{"vebus_mode": "bms", "board": "pi\xffco"}')
    cmd = [node, str(RP2EMU / "run.mjs"), "--fs", str(fs), "--max-ms", str(MAX_MS)]
    cmd += ["--keep-running", "--json", str(tmp_path / "run.json")]
    cmd += ["--save-fs", str(tmp_path / "fs.img")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    console = proc.stdout
    assert "settings: /settings.json: not UTF-8 text, using the defaults" in console
    assert "Traceback" not in console and "UnicodeError" not in console
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["resets"] == [] and run["emulated_ms"] == MAX_MS  # ran on, never reset
    log = tmp_path / "events.log"
    log.write_bytes(_file_from_image(tmp_path / "fs.img", "/events.log"))
    events, bad, _ = read([log])
    assert bad == 0
    first_boot = {e["code"]: e["text"] for e in events if e["boot"] == 1}
    assert EV_BOOT in first_boot and len({e["boot"] for e in events}) == 1
    assert first_boot[EV_SETTINGS].startswith("settings file: 1 problem(s), defaults kept")
