"""The crash path's own copy of the safe pin states: needs nothing but `machine` and `sys`.

`outputs_safe()` floats load disconnect, charge disconnect and pre-alarm and drops DE on both
VE.Bus ports, without a board object (the crash may have happened before one existed).
`reset()` restarts the chip. boot.py holds the same numbers; tests/test_boot.py keeps them equal
to the board profiles.
"""

import sys

import machine

# platform -> (output pins, DE pins)
SAFE = {
    "esp32": ((32, 33, 25), (4, 26)),
    "rp2": ((13, 14, 9), (2, 3)),
}


def pins(platform=None):
    """(output pins, DE pins) of this platform; any other platform (unix, tests) is a Pico."""
    return SAFE.get(platform or sys.platform, SAFE["rp2"])


def outputs_safe():
    outs, des = pins()
    for p in outs:
        machine.Pin(p, machine.Pin.IN, None)  # pyright: ignore[reportArgumentType]
    for p in des:
        machine.Pin(p, machine.Pin.OUT, value=0)


def reset():
    machine.reset()
