"""ESP32 DevKit (ESP32-WROOM-32) board profile: the pin map as data, and how to open its UARTs.

Checked by pyright against the ESP32 stubs (pyright-esp32.json): ESP32-only calls live here.
Pins follow docs/hardware.md section 8: UART1/UART2 remapped away from the flash pins (6-11) and
UART0 (1, 3, the REPL); no strapping pin (0, 2, 5, 12, 15) for an output or DE; the BTV inputs on
the input-only pins 34-39, which have no internal pulls (the front end biases them). GPIO 16/17
are free on WROOM modules (WROVER modules use them for PSRAM: move the Multi port there).
"""

from machine import UART

PROFILE = {
    "name": "esp32",
    "platform": "esp32",
    "outputs": ((32, 1), (33, 1), (25, 1)),
    "btv_inputs": (
        ("btv0", 34, None),
        ("btv1", 35, None),
        ("btv2", 36, None),
        ("btv3", 39, None),
    ),
    "btv_test_pin": 23,
    "remote_l": ("remote_l", 21, None),
    "remote_h": ("remote_h", 22, None),
    "mains": ("mains", 13, "up"),
    # GPIO 2 is the DevKit's on-board LED (a strapping pin, harmless for an LED)
    "leds": (("status", 2, 1), ("cell_ok", 18, 1), ("cell_high", 19, 1)),
    "bus": (("multi", 2, 17, 16, 4), ("panel", 1, 27, 14, 26)),
    "wdt_ms": 3000,  # the ESP32 needs at least 1000 ms
    # Light sleep stops the UARTs and the CPU; ticks_ms keeps counting. Allowed in low power only.
    "lightsleep": True,
    "vbus_pin": None,  # the DevKit's USB-UART bridge keeps its USB link through light sleep
}

# ESP-IDF needs a receive buffer larger than the 128-byte hardware FIFO.
_MIN_RXBUF = 256


def open_uart(uart_id, tx, rx, baud, rxbuf, txbuf):
    """A UART that never blocks: timeout=0; pins given as numbers (the ESP32's UART matrix)."""
    return UART(
        uart_id,
        baudrate=baud,
        bits=8,
        parity=None,
        stop=1,
        tx=tx,
        rx=rx,
        rxbuf=rxbuf if rxbuf > _MIN_RXBUF else _MIN_RXBUF,
        txbuf=txbuf if txbuf > _MIN_RXBUF else _MIN_RXBUF,
        timeout=0,
        timeout_char=0,
    )
