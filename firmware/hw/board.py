"""The board: every pin, bus port and the watchdog of one profile, built from the settings.

    board = Board("pico")                      # or Board.from_settings(settings)
    board.outputs.set(LOAD_DISCONNECT, True)   # ON = driven, OFF = floating (pins.Outputs)
    levels = board.read_btv()                  # int, bit n = raw level of BTV input n
    l, h, mains = board.read_remote_mains()    # raw levels (meaning: firmware/core)
    board.leds.set(i, on); board.btv_test.value(1)
    port = board.ports[0]                      # rs485.Rs485 of the "multi" port; [1] = "panel"
                                               # (with setting panel_port: the default)
    board.watchdog                             # watchdog.Watchdog (started by the app)
    board.lightsleep(ms)                       # not while USB is plugged in (Pico VBUS sense)
    board.reset()

Profiles are data in board_pico.py / board_esp32.py; the ESP32 one is imported only when chosen.
"""

import sys

import machine

from firmware.hw.pins import Inputs, Leds, Outputs
from firmware.hw.rs485 import BAUD, RXBUF, TXBUF, TXBUF_TIMED, Rs485
from firmware.hw.watchdog import Watchdog

_OUT_LEVEL_KEYS = ("load_out_high_level", "charge_out_high_level", "prealarm_out_high_level")


def profile_module(name):
    if name == "esp32":
        from firmware.hw import board_esp32 as mod
    elif name == "pico":
        from firmware.hw import board_pico as mod
    else:
        raise ValueError("unknown board profile %r (pico | esp32)" % (name,))
    return mod


class Board:
    def __init__(self, name="pico", out_levels=None, ports=2):
        mod = profile_module(name)
        p = mod.PROFILE
        self.name = name
        self.profile = p
        specs = p["outputs"]
        if out_levels is not None:
            specs = tuple((specs[i][0], out_levels[i]) for i in range(len(specs)))
        self.outputs = Outputs(specs)
        self.btv = Inputs(p["btv_inputs"])
        self.remote_mains = Inputs((p["remote_l"], p["remote_h"], p["mains"]))
        self.btv_test = machine.Pin(p["btv_test_pin"], machine.Pin.OUT, value=0)
        self.leds = Leds(p["leds"])
        self.port_names = []
        self.ports = []
        for pname, uart_id, tx, rx, de in p["bus"][:ports]:
            # The Remote panel port's relayed frames: DE dropped by a hard timer IRQ, where the
            # board is the rp2 port (checked there on the emulated Pico; firmware/hw/rs485.py)
            timed = pname == "panel" and sys.platform == "rp2"
            uart = mod.open_uart(uart_id, tx, rx, BAUD, RXBUF, TXBUF_TIMED if timed else TXBUF)
            self.ports.append(Rs485(uart, de, timer=machine.Timer(-1) if timed else None))
            self.port_names.append(pname)
        self.watchdog = Watchdog(p["wdt_ms"])
        self.can_lightsleep = p["lightsleep"]
        vbus = p.get("vbus_pin")
        self.vbus = None if vbus is None else machine.Pin(vbus, machine.Pin.IN)
        self.sleeps = 0

    @classmethod
    def from_settings(cls, settings):
        levels = tuple(getattr(settings, k, 1) for k in _OUT_LEVEL_KEYS)
        return cls(settings.board, levels, 2 if settings.panel_port else 1)

    def read_btv(self):
        """Raw levels of the BTV inputs as an int: bit n = input n."""
        return self.btv.read_bits()

    def read_remote_mains(self):
        """Raw (remote L, remote H, mains detector) levels, in a reused bytearray."""
        return self.remote_mains.read()

    def safe(self):
        """Outputs floating, RS485 drivers off, self-test drive low."""
        self.outputs.safe()
        for port in self.ports:
            port.de.value(0)
        self.btv_test.value(0)

    def usb_connected(self):
        return self.vbus is not None and self.vbus.value() == 1

    def lightsleep(self, ms):
        """Light sleep for ms if the port allows it and no USB host is attached; True if slept."""
        if not self.can_lightsleep or ms <= 0 or self.usb_connected():
            return False
        machine.lightsleep(ms)
        self.sleeps += 1
        return True

    def unique_id(self):
        return machine.unique_id()

    def reset_cause(self):
        return machine.reset_cause()

    def watchdog_reset(self):
        """True when this start followed a watchdog reset."""
        return machine.reset_cause() == machine.WDT_RESET

    def reset(self):
        machine.reset()


def platform_board_name():
    return "esp32" if sys.platform == "esp32" else "pico"
