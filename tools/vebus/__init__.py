"""`python -m tools.vebus`: decode VE.Bus / MK2 bytes and sniff a live bus (host side of vebus).

    python -m tools.vebus decode [FILE] [--raw FILE] [--mk2] [--json] [--any-addr]
    python -m tools.vebus sniff --port DEV [--save FILE] [--json] [--duration S]

Modules: cli (arguments, decode), inputs (hex text, binary and timestamped captures),
render (one line or one JSON object per frame), sniff (pyserial capture).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "lib") not in sys.path:
    sys.path.insert(0, str(ROOT / "lib"))

from tools import hostcompat  # noqa: E402

hostcompat.install()
