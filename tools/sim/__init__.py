"""Simulator of batteries + Multi + GX running the unmodified firmware in virtual time.

    python -m tools.sim run SCENARIO.json --out DIR [--fidelity full|fast] [--no-png]

Modules: scenario (the normative scenario format), battery (bank model and BTV thresholds),
multi / gx (the devices' behaviour), wire (their frames on VE.Bus, via lib/vebus), bus (virtual
RS485 segments), world (currents), fwhost (the firmware's board and app on fake pins/UARTs),
vclock (virtual-clock asyncio loop), runner (one run), timeline / plot (the outputs).

Importing this package puts the board's import path in place on CPython: lib/ (vebus),
tests/fakes (the fake `machine`) and the MicroPython shims of tools/hostcompat.
"""

import os
import sys

from tools import hostcompat

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for _p in (os.path.join(_ROOT, "lib"), os.path.join(_ROOT, "tests", "fakes"), _ROOT):
    if _p not in sys.path:
        sys.path.insert(0, _p)
hostcompat.install()
