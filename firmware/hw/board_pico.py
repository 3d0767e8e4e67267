"""Raspberry Pi Pico (RP2040) board profile: the pin map as data, and how to open its UARTs.

Pins follow docs/hardware.md section 8. Change a pin here (and in boot.py's first lines, which a
test keeps equal) and nothing else. Inputs are logic levels from the front ends of the hardware
guide; polarity and meaning are settings of firmware/core.
"""

from machine import UART, Pin

PROFILE = {
    "name": "pico",
    "platform": "rp2",
    # (pin, level that means "on") in order: load disconnect, charge disconnect, pre-alarm.
    # The level is a default; settings `*_out_high_level` override it. Not GPIO15: pico-sdk's
    # USB enumeration fix (RP2040-E5) drives it for ~1 ms at every enumeration.
    "outputs": ((13, 1), (14, 1), (9, 1)),
    # BTV loop inputs, input number n = position n: (name, pin, pull). The front end biases them.
    "btv_inputs": (
        ("btv0", 16, None),
        ("btv1", 17, None),
        ("btv2", 18, None),
        ("btv3", 19, None),
        ("btv4", 20, None),
        ("btv5", 21, None),
    ),
    "btv_test_pin": 22,  # drives the loop for the self-test pulse (settings `btv_selftest`)
    "remote_l": ("remote_l", 10, None),
    "remote_h": ("remote_h", 11, None),
    "mains": ("mains", 12, "up"),  # optocoupler transistor pulls it low
    # (name, pin, level that lights it)
    "leds": (("status", 25, 1), ("cell_ok", 6, 1), ("cell_high", 7, 1)),
    # VE.Bus ports: (name, UART id, tx pin, rx pin, DE pin)
    "bus": (("multi", 0, 0, 1, 2), ("panel", 1, 4, 5, 3)),
    "wdt_ms": 3000,  # RP2040 allows at most 8388 ms
    "lightsleep": True,  # ticks keep running through machine.lightsleep(ms)
    # VBUS sense (GP24 on a Pico; a Pico W reads it elsewhere): while USB is plugged in, no light
    # sleep, because the USB device stops in light sleep and the REPL / deploy would drop out.
    "vbus_pin": 24,
}


def open_uart(uart_id, tx, rx, baud, rxbuf, txbuf):
    """A UART that never blocks: timeout=0 and reads bounded by any()."""
    return UART(
        uart_id,
        baud,
        bits=8,
        parity=None,
        stop=1,
        tx=Pin(tx),
        rx=Pin(rx),
        rxbuf=rxbuf,
        txbuf=txbuf,
        timeout=0,
        timeout_char=0,
    )
