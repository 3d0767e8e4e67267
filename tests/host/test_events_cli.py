"""tools/events.py: the board's /events.log in the manual's words, from files the firmware's own
EventFile writes (firmware/core/eventfile.py), whole, rotated, damaged, and fetched with mpremote
from a MicroPython behind a pty (tests/host/test_deploy_vm.py's bridge)."""

import json
import subprocess

from test_deploy_vm import PtyBoard
from toolrun import ROOT, run_tool

from firmware.app_texts import EV_CRASH, EV_MULTI_VERSION, EV_SETTINGS
from firmware.core.codes import (
    EV_BOOT,
    EV_LOAD_OFF,
    EV_LOAD_ON,
    EV_PREALARM_ON,
    EV_STARTUP_DONE,
    R_LOW_CELL,
    R_OPEN_LOOP,
)
from firmware.core.eventfile import RECORD_SIZE, EventFile

WRAP = 1 << 30  # the board's ticks_ms wrap

# (boot, tick, code, reason, arg) as the firmware writes them: a low-cell shutdown, crashes, a
# reboot with the loop fault latched and a settings problem, a ticks_ms wrap 12.4 days later.
RECORDS = (
    (1, 5, EV_BOOT, 0, 0),
    (1, 2010, EV_STARTUP_DONE, 0, 2000),
    (1, 60000, EV_PREALARM_ON, R_LOW_CELL, 0),
    (1, 90000, EV_LOAD_OFF, R_LOW_CELL, 30),
    (1, 95000, EV_CRASH, 0, 0),  # App.fail: an exception in a task
    (0, 0, EV_CRASH, 0, 0),  # main.crash: one before the app ran (no boot number, no time)
    (2, 3, EV_BOOT, R_OPEN_LOOP, 1),
    (2, 4, EV_SETTINGS, 0, 2),
    (2, WRAP - 10, EV_MULTI_VERSION, 0, 1170212),
    (2, 5, EV_LOAD_ON, 0, 40),
)
# What a user reads: the manual's words (btv.md: "at least 30 s between pre-alarm on and load
# disconnect"; a latched BTV loop fault survives a reboot), uptime within each boot.
LINES = [
    " boot           uptime  event",
    "    1      0:00:00.005  start-up: outputs safe until the BTV loop reads OK",
    "    1      0:00:02.010  start-up: BTV loop OK for 2000 ms, outputs allowed",
    "    1      0:01:00.000  pre-alarm: low cell",
    "    1      0:01:30.000  load disconnect: low cell, 30 s after pre-alarm",
    "    1      0:01:35.000  crash: unhandled exception, outputs floating, reset",
    "    -                -  crash: unhandled exception, outputs floating, reset",
    "    2      0:00:00.003  start-up: outputs safe, BTV loop fault latched before reboot (open"
    " loop)",
    "    2      0:00:00.004  settings file: 2 problem(s), defaults kept for those (details on the"
    " console)",
    "    2  12d 10:15:41.814  Multi firmware read: 1170212 (its last three digits are the VE.Bus"
    " version)",
    "    2  12d 10:15:41.829  loads on: battery OK (off for 40 s)",
]


def write_log(folder, max_records=6):
    """The firmware's EventFile writes RECORDS; a full file rotates to events.log.1."""
    path = str(folder / "events.log")
    for boot, tick, code, reason, arg in RECORDS:
        EventFile(path, RECORD_SIZE * max_records, boot).append(tick, code, reason, arg)
    return folder / "events.log"


def _cli(*args):
    return run_tool("tools.events", *args)


def test_prints_every_event_of_a_rotated_log_in_the_manuals_words(tmp_path):
    log = write_log(tmp_path)
    assert (tmp_path / "events.log.1").stat().st_size == 6 * RECORD_SIZE  # it did rotate
    p = _cli(str(log))
    assert p.returncode == 0 and p.stderr == ""
    assert p.stdout.splitlines() == LINES


def test_json_has_one_object_per_event(tmp_path):
    p = _cli("--json", str(write_log(tmp_path)))
    assert p.returncode == 0
    objs = [json.loads(line) for line in p.stdout.splitlines()]
    assert len(objs) == len(RECORDS)
    assert objs[3] == {
        "boot": 1,
        "uptime_ms": 90000,
        "tick": 90000,
        "code": EV_LOAD_OFF,
        "reason": R_LOW_CELL,
        "reasons": "low cell",
        "arg": 30,
        "text": "load disconnect: low cell, 30 s after pre-alarm",
    }
    assert [o["uptime_ms"] for o in objs[-2:]] == [WRAP - 10, WRAP + 5]


def test_a_damaged_and_torn_log_shows_the_good_records_and_counts_the_bad(tmp_path):
    log = write_log(tmp_path)
    old = bytearray((tmp_path / "events.log.1").read_bytes())
    old[2 * RECORD_SIZE + 6] ^= 0x10  # a flipped bit in the pre-alarm record
    (tmp_path / "events.log.1").write_bytes(bytes(old))
    (tmp_path / "events.log").write_bytes(log.read_bytes()[:-5])  # a power cut mid-write
    p = _cli(str(log))
    assert p.returncode == 1
    assert p.stdout.splitlines() == LINES[:3] + LINES[4:-1]
    assert p.stderr.splitlines() == [
        "events: %s.1 + %s is damaged: 2 bad record(s) (27 bytes) skipped, 8 good shown"
        % (log, log)
    ]


def test_bad_input_is_one_line(tmp_path):
    p = _cli(str(tmp_path / "nope.log"))
    assert p.returncode == 2 and p.stdout == "" and "Traceback" not in p.stderr
    assert p.stderr.splitlines() == [
        "events: cannot read %s: No such file or directory" % (tmp_path / "nope.log")
    ]
    empty = tmp_path / "events.log"
    empty.write_bytes(b"")
    p = _cli(str(empty))
    assert p.returncode == 0 and p.stderr.splitlines() == ["events: %s holds no events" % empty]
    p = _cli()
    assert p.returncode == 2 and len(p.stderr.splitlines()) == 1 and "--fetch" in p.stderr
    h = _cli("--help")
    assert h.returncode == 0 and h.stdout.startswith("usage: python -m tools.events")
    for word in ("--json", "--fetch", "uptime", "boot", "Damaged", "outputs float"):
        assert word in h.stdout, word


def test_fetch_copies_the_log_off_a_micropython_with_mpremote(tmp_path):
    board = tmp_path / "board"
    board.mkdir()
    write_log(board)
    with PtyBoard(board, tmp_path / "setup.py") as vm:
        p = _cli("--fetch", vm.port, "--no-reset", "--out", str(tmp_path / "got"))
        assert p.returncode == 0, p.stderr
        assert p.stdout.splitlines() == LINES
        assert p.stderr.splitlines() == [
            "events: copied /events.log, /events.log.1 from %s to %s" % (vm.port, tmp_path / "got")
        ]
        assert (tmp_path / "got" / "events.log.1").read_bytes() == (
            board / "events.log.1"
        ).read_bytes()
        for f in ("events.log", "events.log.1"):
            (board / f).unlink()
        p = _cli("--fetch", vm.port, "--no-reset", "--out", str(tmp_path / "got"))
        assert p.returncode == 2 and p.stdout == ""
        assert p.stderr.splitlines() == [
            "events: the board on %s has no /events.log (no event recorded yet?)" % vm.port
        ]


def test_make_events_needs_a_port_and_fetches_from_it():
    p = subprocess.run(["make", "events"], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode != 0 and "usage: make events PORT=/dev/ttyACM0" in p.stdout
    p = subprocess.run(
        ["make", "events", "PORT=/dev/ttyNOPE-events-test"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert "events: no board answers on /dev/ttyNOPE-events-test" in p.stderr


def test_the_remote_panel_ports_decisions_print_with_their_reasons(tmp_path):
    # Control from the Remote panel port in the manual's order (3.5 / 3.6): what was rewritten
    # or dropped, and why; a looped cable.
    from firmware.bms.panel import EV_PANEL_DMC, EV_PANEL_REWRITTEN, EV_RELAY_LOOP

    path = str(tmp_path / "events.log")
    for tick, code, arg in (
        (10, EV_PANEL_REWRITTEN, 7 << 8 | 5),
        (20, EV_PANEL_DMC, 0),
        (30, EV_RELAY_LOOP, 3),
    ):
        EventFile(path, 4096, 1).append(tick, code, 0, arg)
    p = _cli(path)
    assert p.returncode == 0 and p.stdout.splitlines()[1:] == [
        "    1      0:00:00.010  switch request 7 from the Remote panel port sent to the Multi as"
        " 5: protection allows no more (4 off, 5 charger-only, 6 inverter-only, 7 on; 0 a"
        " setting write)",
        "    1      0:00:00.020  control 0 of the GX / Smart dongle dropped: with a Digital Multi"
        " Control only the DMC switches the Multi (4 off, 5 charger-only, 6 inverter-only, 7 on;"
        " 0 a setting write)",
        "    1      0:00:00.030  Remote panel port: the Multi's own frames or syncs came back (a"
        " looped cable or a second Multi), not relayed",
    ]


def test_every_board_event_has_its_words_and_no_code_is_shared():
    from firmware import app, app_texts
    from firmware.app_texts import EVENT_TEXTS
    from firmware.bms import panel

    def codes(mod):  # the board's codes (32 and up; the role's event bits are below)
        return {getattr(mod, n) for n in dir(mod) if n.startswith("EV_") and getattr(mod, n) >= 32}

    ours, theirs = codes(panel), codes(app)
    assert len(ours) == 8 and not ours & theirs and min(ours) > max(theirs)
    assert ours | theirs <= set(EVENT_TEXTS)
    for n in dir(panel):  # app_texts names the panel's codes as numbers: the same ones
        if n.startswith("EV_"):
            assert getattr(app_texts, n) == getattr(panel, n), n
