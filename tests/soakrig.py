"""Soak: days of daily cycles through the whole firmware (tests/faultrig.py) on the MicroPython
VM, with VE.Bus noise. Used by tools/bench/bench_soak.py (long: `make bench`), and a one-day
smoke run by tests/host/test_soak.py. Not a test module.

A simulated day (virtual time, "bms" mode, 0.1 % of the Multi's bytes corrupted):
    04:00 pre-alarm      04:10 low cell: load disconnect 30 s later, the Multi off (no AC)
    06:00 mains back: the Multi charger-only     06:30 cells recovered: loads on again
    12:00 high cell: charge disconnect           12:40 balanced: chargers on again
    18:00 mains lost     every 7th day 20:00-20:10 remote off     every 10th day 22:00 loop
    opened for 1 min (latched fault) and closed again
After every transition FINE_MS of full fidelity (every task at its real period, the Multi's sync
every 20 ms, its LED frames, the noise) with the expected outputs and Multi command checked at
its end; between transitions the clock is fast-forwarded COARSE_MS at a time with one sync and
one step of every task (30 days at the real periods would take hours on the VM).

Measured: heap in use after a collection at the end of every day (growth from the end of day 1
to the end of the last day; the VE.Bus decoder's lazily made per-length views are counted
separately: they account for the growth seen under noise and are bounded by design), event-log
file sizes (bounded by event_log_max_bytes and one rotated file), resets and watchdog-stale
events (none expected), the BMS's worst delay from a sync to its frame (the slot deadline), the
longest step of each task (wall time on this host's VM), and every expected state that was
not reached.
"""

import gc
import os

from faultrig import Rig
from vmtest import fresh_root

from firmware.app import TASK_NAMES
from firmware.app_texts import EV_TASK_STALE
from firmware.bms.role import SLOT_MS
from firmware.core.codes import MODE_CHARGER_ONLY, MODE_OFF, MODE_ON

FINE_MS = 45_000
COARSE_MS = 2000
DAY_MS = 86_400_000
SETTINGS = {"stale_ms": 5000, "event_log_max_bytes": 4096}

ON = ("high", "high", "float")
LOADS_OFF = ("float", "high", "float")
CHARGE_OFF = ("high", "float", "float")
ALL_OFF = ("float", "float", "float")
PREALARM = ("high", "high", "high")


def _h(hh, mm=0):
    return (hh * 60 + mm) * 60_000


def day_script(day):
    """(ms into the day, action, expected (load, charge, prealarm) and Multi mode or None)."""
    s = [
        (_h(4), "prealarm", PREALARM, MODE_ON),
        (_h(4, 10), "low_cell", LOADS_OFF, MODE_OFF),
        (_h(6), "mains_on", LOADS_OFF, MODE_CHARGER_ONLY),
        (_h(6, 30), "recovered", ON, MODE_ON),
        (_h(12), "high_cell", CHARGE_OFF, MODE_ON),
        (_h(12, 40), "balanced", ON, MODE_ON),
        (_h(18), "mains_off", ON, MODE_ON),
    ]
    if day % 7 == 6:
        s.append((_h(20), "remote_off", ALL_OFF, MODE_OFF))
        s.append((_h(20, 10), "remote_on", ON, MODE_ON))
    if day % 10 == 9:
        s.append((_h(22), "loop_open", ALL_OFF, MODE_OFF))
        s.append((_h(22, 1), "loop_closed", ON, MODE_ON))
    return s


def apply(rig, action):
    b = rig.battery
    m = rig.multi
    if action == "prealarm":
        b.prealarm = True
    elif action == "low_cell":
        b.low_cell = True
    elif action == "mains_on":
        rig.mains = True
        m.ac_in = True
    elif action == "recovered":
        b.low_cell = False
        b.prealarm = False
    elif action == "high_cell":
        b.high_cell = True
    elif action == "balanced":
        b.high_cell = False
    elif action == "mains_off":
        rig.mains = False
        m.ac_in = False
    elif action == "remote_off":
        rig.remote_on = False
    elif action == "remote_on":
        rig.remote_on = True
    elif action == "loop_open":
        b.loop_intact = False
    elif action == "loop_closed":
        b.loop_intact = True


def _file_size(path):
    try:
        return os.stat(path)[6]
    except OSError:
        return 0


def _views(dec):
    """Exact-length memoryviews the VE.Bus decoder has made so far: it makes one per frame
    length the first time that length occurs (a reject of a new length under noise, too) and
    keeps it, so this part of the heap grows in small steps up to 2 x (maxlen + 1) views."""
    n = 0
    for lst in (getattr(dec, "_rviews", ()), getattr(dec, "_pviews", ())):
        for v in lst:
            if v is not None:
                n += 1
    return n


def soak(days=30, noise_ppm=1000, progress=None):
    rig = Rig(fresh_root("soak"), mode="bms", settings=SETTINGS)
    rig.mains = False
    rig.multi.ac_in = False
    rig.multi.noise_ppm = noise_ppm
    rig.step_us = [0] * len(TASK_NAMES)
    # The fake UART's receive bytearray grows (and never shrinks) up to its rxbuf as bursts
    # come in: bring it to full size once, so the heap measured is the firmware's, not the fake's.
    uart = rig.multi.uart
    uart.inject(bytes(uart.rxbuf))
    rig.run(10_000)
    views_day1 = 0
    heap = [0] * days  # made before the first measurement: the soak's own lists are fixed
    misses = []
    max_log = 0
    max_old = 0
    stale = 0
    for day in range(days):
        used = 10_000 if day == 0 else 0
        for at, action, outs, mode in day_script(day):
            rig.run_coarse(at - used, COARSE_MS)
            apply(rig, action)
            rig.run(FINE_MS)
            used = at + FINE_MS
            got = tuple(rig.outputs()[k] for k in ("load", "charge", "prealarm"))
            cmd = rig.app.out.multi_mode
            if got != outs or cmd != mode:
                misses.append((day, action, got, cmd))
        rig.run_coarse(DAY_MS - used, COARSE_MS)
        stale += rig.ram_events().count(EV_TASK_STALE)
        max_log = max(max_log, _file_size(rig.root + "events.log"))
        max_old = max(max_old, _file_size(rig.root + "events.log.1"))
        gc.collect()
        heap[day] = gc.mem_alloc()
        if day == 0:
            views_day1 = _views(rig.app.role.decoder)
        if progress:
            progress(day + 1, heap[day])
    app = rig.app
    assert app is not None
    return {
        "soak_days": days,
        "soak_heap_growth_bytes": heap[-1] - heap[0],
        "soak_heap_max_growth_bytes": max(heap) - heap[0],
        "soak_decoder_views_day1": views_day1,
        "soak_decoder_views_end": _views(app.role.decoder),
        "soak_resets": len(rig.boots) - 1,
        "soak_watchdog_stale_events": stale,
        "soak_expected_state_misses": len(misses),
        "soak_event_log_max_bytes": max_log,
        "soak_event_log_rotated_max_bytes": max_old,
        "soak_event_log_limit_bytes": SETTINGS["event_log_max_bytes"],
        "soak_slot_delay_max_ms": rig.multi.max_delay_ms,
        "soak_frames_misnumbered": rig.multi.wrong_no,
        "soak_slot_deadline_ms": SLOT_MS,
        "soak_frames_to_multi": rig.multi.frames_from_bms,
        "soak_bus_rejects": app.role.decoder.rejects(),
        "soak_step_max_us": {TASK_NAMES[i]: rig.step_us[i] for i in range(len(TASK_NAMES))},
        "soak_first_misses": misses[:5],
    }
