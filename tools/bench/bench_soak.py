"""Soak: 30 simulated days of daily cycles through the whole firmware on the MicroPython VM
(192 kB heap), "bms" mode, 0.1 % of the Multi's bytes corrupted. tests/soakrig.py says what a
day holds and how time is compressed between transitions.

Keys: soak_days, soak_heap_growth_bytes (heap in use after a collection, end of the last day
minus end of day 1), and the checks behind them: resets, watchdog-stale events, expected states
missed, event-log file sizes against their limit, the BMS's worst sync-to-frame delay against the
slot deadline, misnumbered frames, and the longest step per task (wall time on this host's VM,
collections included: a loaded host inflates it).
"""

import os

from tools.bench.vm import run_vm_script

DAYS = int(os.environ.get("SOAK_DAYS", "30"))

CODE = """
import json, sys
import soakrig
def progress(day, heap):
    sys.stderr.write("soak: day %%d, heap in use %%d bytes\\n" %% (day, heap))
print(json.dumps(soakrig.soak(days=%d, noise_ppm=1000, progress=progress)))
"""

# what a month of cycles must not do: reset, miss a state, leak, misnumber, overrun a limit
GOALS = {
    "soak_resets": ("==", 0),
    "soak_watchdog_stale_events": ("==", 0),
    "soak_expected_state_misses": ("==", 0),
    "soak_frames_misnumbered": ("==", 0),
    "soak_decoder_views_end": ("<=", "soak_decoder_views_day1"),
    "soak_event_log_max_bytes": ("<=", "soak_event_log_limit_bytes"),
    "soak_event_log_rotated_max_bytes": ("<=", "soak_event_log_limit_bytes"),
    "soak_slot_delay_max_ms": ("<=", "soak_slot_deadline_ms"),
}


def run():
    return run_vm_script(CODE % DAYS, timeout=3600)
