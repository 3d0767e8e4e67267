"""The board-side event codes 32 and up (firmware/app.py's, main.py's; the Remote panel port's
from 48: firmware/bms/panel.py) and their words, for host tools and logs: the board never
imports this module, so these strings take no RAM there (core's event words are in
firmware/core/texts.py). A text with two %d takes the event's arg as (arg >> 8, arg & 0xFF)."""

from micropython import const

# Codes 32..47 (firmware/app.py and main.py keep private copies of those they record; tests/host/
# test_consts.py and tests/test_update.py keep them equal).
EV_CRASH = const(32)
EV_WATCHDOG_RESET = const(33)
EV_MULTI_UP = const(34)
EV_MULTI_DOWN = const(35)
EV_MULTI_VERSION = const(36)
EV_BMS_PROBE = const(37)
EV_TASK_STALE = const(38)
EV_CONTROL_REQUEST = const(39)
EV_SETTINGS = const(40)
EV_SETTINGS_MISSING = const(41)
EV_CONTROL_DROPPED = const(42)
EV_ASSISTANT_NEEDED = const(43)
EV_HANG = const(44)
EV_IMAGE = const(45)  # main.py writes these three (the boot check runs before the app exists)
EV_IMAGE_BAD = const(46)
EV_ROLLBACK = const(47)

# firmware/bms/panel.py's codes, as numbers: importing that module would load the relay into
# every tool and test that prints an event (tests/host/test_events_cli.py keeps them equal).
EV_PANEL_REWRITTEN = 48
EV_PANEL_PROTECTION = 49
EV_PANEL_REMOTE_OFF = 50
EV_PANEL_DMC = 51
EV_RELAY_LOOP = 52
EV_RELAY_WRONG_SLOT = 53
EV_RELAY_TOO_LONG = 54
EV_RELAY_FULL = 55
_MODES = "(4 off, 5 charger-only, 6 inverter-only, 7 on; 0 a setting write)"

EVENT_TEXTS = {
    EV_CRASH: "crash: unhandled exception, outputs floating, reset",
    EV_WATCHDOG_RESET: "watchdog reset: a task stopped, outputs were floating through it",
    EV_MULTI_UP: "Multi present (syncs on VE.Bus)",
    EV_MULTI_DOWN: "Multi absent: no sync for 1 s",
    EV_MULTI_VERSION: "Multi firmware read: %d (its last three digits are the VE.Bus version)",
    EV_BMS_PROBE: "GX BMS probe seen (answered: %d)",
    EV_TASK_STALE: "watchdog not fed: task %d stopped checking in",
    EV_CONTROL_REQUEST: (
        "switch request from the GX / VRM or DMC: %d (4 off, 5 charger-only, 6 inverter-only,"
        " 7 on); it holds until changed or no longer repeated"
    ),
    EV_SETTINGS: "settings file: %d problem(s), defaults kept for those (details on the console)",
    EV_SETTINGS_MISSING: "settings file missing: every setting at its default",
    EV_CONTROL_DROPPED: "switch request of the GX / DMC dropped: not repeated for %d s",
    EV_ASSISTANT_NEEDED: (
        "Multi firmware %d needs the VE.Bus BMS or ESS assistant: not readable on the bus, check"
        " it (without it the Multi shows VE.Bus error 7)"
    ),
    EV_HANG: "hang: the supervisor did not run for %d ms, outputs floating until the reset",
    EV_IMAGE: "firmware build %d started: boot check passed (deploy.py --info: its version)",
    EV_IMAGE_BAD: "boot check failed (cause %d, see docs/bench-testing.md): outputs floating, "
    "status LED at 15 Hz, no app; deploy again",
    EV_ROLLBACK: "new firmware image failed (cause %d, see docs/bench-testing.md): back to the "
    "previous image",
    EV_PANEL_REWRITTEN: "switch request %d from the Remote panel port sent to the Multi as %d: "
    "protection allows no more " + _MODES,
    EV_PANEL_PROTECTION: "setting write from the Remote panel port dropped: protection restricts "
    "the Multi now (low cell, loop fault, start-up or a VE.Bus error)",
    EV_PANEL_REMOTE_OFF: "control %d from the Remote panel port dropped: remote off holds the "
    "Multi in low power, only off passes " + _MODES,
    EV_PANEL_DMC: "control %d of the GX / Smart dongle dropped: with a Digital Multi Control "
    "only the DMC switches the Multi " + _MODES,
    EV_RELAY_LOOP: "Remote panel port: the Multi's own frames or syncs came back (a looped "
    "cable or a second Multi), not relayed",
    EV_RELAY_WRONG_SLOT: "Remote panel port: a device sent in the wrong slot, not relayed",
    EV_RELAY_TOO_LONG: "Remote panel port: a frame too long for a slot, not relayed",
    EV_RELAY_FULL: "Remote panel port: frames dropped, a queue between the ports was full (a "
    "device flooding the bus, or the panel bus never quiet)",
}
