# boot.py: runs first at every power-up, reset and watchdog reset. Its first statements put load
# disconnect, charge disconnect and pre-alarm in their safe state (floating: input, no pull, so the
# output stage's own pull-down holds them off) and the RS485 drivers off (DE low), before any
# import that could fail: `machine` and `sys` are built into the firmware. The pin numbers repeat
# firmware/hw/safe.py and the board profiles; tests/test_boot.py keeps the three equal.
from machine import Pin  # noqa: I001  (order matters here: nothing before the outputs are safe)
import sys

for _p in (32, 33, 25) if sys.platform == "esp32" else (13, 14, 9):
    Pin(_p, Pin.IN, None)  # pyright: ignore[reportArgumentType]  (pull=None: no pull)
for _p in (4, 26) if sys.platform == "esp32" else (2, 3):
    Pin(_p, Pin.OUT, value=0)
