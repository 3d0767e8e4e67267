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


def run():
    return run_vm_script(CODE % DAYS, timeout=3600)
