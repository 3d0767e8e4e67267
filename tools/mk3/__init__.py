"""MK3-USB bench client: `python -m tools.mk3 --port DEV [info|monitor|ram ID...]`.

client.Mk3     the session (requests, retries, the Multi's state, DC info, LEDs, RAM variables)
protocol       what each MK2 request and reply means (pure functions on de-framed bytes)
fake           FakeMultiPort: a Multi behind an MK3 at the MK2 level, for tests
The MK2 framing itself is lib/vebus's `vebus.mk2`.
"""

import sys
from pathlib import Path

_LIB = str(Path(__file__).resolve().parents[2] / "lib")
if _LIB not in sys.path:  # `python -m tools.mk3` from the repo: lib/vebus is the board's /lib
    sys.path.insert(0, _LIB)

from tools import hostcompat  # noqa: E402

hostcompat.install()  # vebus uses micropython.const
