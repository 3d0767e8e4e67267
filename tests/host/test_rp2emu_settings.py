"""A damaged /settings.json on the real MicroPython rp2 port (an emulated Pico running the
unmodified RPI_PICO firmware, through tools/pico): the board boots on the defaults, says why on
its console and in its event log, and keeps running (no reset). Skipped with tools/pico's one line
where the emulator or rp2040js is not there (a clone has no ../shared)."""

from pathlib import Path

import pytest

from firmware.app_texts import EV_SETTINGS
from firmware.core.codes import EV_BOOT
from tools.events import read
from tools.pico import emu

MAX_MS = 2500  # emulated: boot, settings read at ~0.7 s, the log task writes flash each second


def _emulator():
    """pytest.skip with the one thing missing (tools/pico's own reasons)."""
    try:
        emu.find_tools()
    except emu.PicoSkip as e:  # a PicoError (damaged image...) fails the test with its line
        pytest.skip("emulated Pico: %s" % e)


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
    _emulator()
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "settings.json").write_bytes(b'{"vebus_mode": "bms", "board": "pi\xffco"}')
    img = tmp_path / "fs.img"
    run = emu.run("settings_not_utf8", [], MAX_MS, extra={"/": extra}, save_fs=img, echo=())
    console = run.console
    assert "settings: /settings.json: not UTF-8 text, using the defaults" in console
    assert "Traceback" not in console and "UnicodeError" not in console
    assert run.summary["resets"] == [] and run.emulated_ms >= MAX_MS  # ran on, never reset
    log = tmp_path / "events.log"
    log.write_bytes(_file_from_image(img, "/events.log"))
    events, bad, _ = read([log])
    assert bad == 0
    first_boot = {e["code"]: e["text"] for e in events if e["boot"] == 1}
    # one boot of the app (main.py's own boot-check record carries no boot number: 0)
    assert EV_BOOT in first_boot and len({e["boot"] for e in events if e["boot"]}) == 1
    assert first_boot[EV_SETTINGS].startswith("settings file: 1 problem(s), defaults kept")
