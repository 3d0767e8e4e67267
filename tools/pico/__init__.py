"""The firmware on the emulated Pico (../shared/rp2emu): image, stimulus, run, trace, checks.

emu.run() builds the board image as tools/deploy.py does and runs it; stim.Stim makes the
stimulus; trace.Trace reads what happened. `python -m tools.pico` (make pico) runs the scenarios
of tools/pico/scenarios.py and prints what a bench tester would check.

Importing this package puts the board's import path in place on CPython, as tools.sim does:
lib/ (vebus), tests/fakes (the fake `machine`, for the pin map and the settings table) and the
MicroPython shims of tools/hostcompat.
"""

import os
import sys

from tools import hostcompat

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for _p in (os.path.join(_ROOT, "lib"), os.path.join(_ROOT, "tests", "fakes"), _ROOT):
    if _p not in sys.path:
        sys.path.insert(0, _p)
hostcompat.install()
