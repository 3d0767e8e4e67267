"""Building a Board (firmware/hw/board.py) from its profile: runs once at the start, so on a board
main.py's let_go drops this module, and its code leaves the heap, once the app is built."""

import sys

import machine
from micropython import const

from firmware.hw.pins import Inputs, Leds, Outputs
from firmware.hw.rs485 import BAUD, RXBUF, TXBUF, Rs485
from firmware.hw.watchdog import Watchdog

_RP2_GPIO_IN = const(0xD0000004)


def profile_module(name):
    if name == "esp32":
        from firmware.hw import board_esp32 as mod
    elif name == "pico":
        from firmware.hw import board_pico as mod
    else:
        raise ValueError("unknown board profile %r (pico | esp32)" % (name,))
    return mod


def init(board, name, out_levels, ports):
    """Fill a new Board: every pin, bus port and the watchdog of profile `name`."""
    mod = profile_module(name)
    p = mod.PROFILE
    board.name = name
    board.profile = p
    specs = p["outputs"]
    if out_levels is not None:
        specs = tuple((specs[i][0], out_levels[i]) for i in range(len(specs)))
    board.outputs = Outputs(specs)
    # rp2's SIO GPIO_IN (RP2040 datasheet 2.3.1.7): every GPIO's level, bit k = GPIO k; inputs
    # on consecutive GPIOs (the BTV lines; remote L, H and mains) are read from it in one load.
    gpio_in = _RP2_GPIO_IN if p["platform"] == "rp2" else 0
    board.btv = Inputs(p["btv_inputs"], gpio_in)
    board.remote_mains = Inputs((p["remote_l"], p["remote_h"], p["mains"]), gpio_in)
    board.btv_test = machine.Pin(p["btv_test_pin"], machine.Pin.OUT, value=0)
    board.leds = Leds(p["leds"])
    board.port_names = []
    board.ports = []
    for pname, uart_id, tx, rx, de in p["bus"][:ports]:
        # The Remote panel port's relayed frames: DE dropped by a hard timer IRQ, where the
        # board is the rp2 port (checked there on the emulated Pico; firmware/hw/rs485.py)
        if pname == "panel" and sys.platform == "rp2":
            from firmware.hw.rs485_timed import TXBUF_TIMED, TimedRs485

            uart = mod.open_uart(uart_id, tx, rx, BAUD, RXBUF, TXBUF_TIMED)
            board.ports.append(TimedRs485(uart, de, machine.Timer(-1)))
        else:
            uart = mod.open_uart(uart_id, tx, rx, BAUD, RXBUF, TXBUF)
            board.ports.append(Rs485(uart, de))
        board.port_names.append(pname)
    board.watchdog = Watchdog(p["wdt_ms"])
    board.can_lightsleep = p["lightsleep"]
    vbus = p.get("vbus_pin")
    board.vbus = None if vbus is None else machine.Pin(vbus, machine.Pin.IN)
    board.sleeps = 0
