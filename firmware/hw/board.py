"""The board: every pin, bus port and the watchdog of one profile, built from the settings.

    board = Board("pico")                      # or Board.from_settings(settings)
    board.outputs.set(LOAD_DISCONNECT, True)   # ON = driven, OFF = floating (pins.Outputs)
    levels = board.read_btv()                  # int, bit n = raw level of BTV input n
    rm = board.read_remote_mains()             # int: bit 0 remote L, 1 remote H, 2 mains
    board.leds.set(i, on); board.btv_test.value(1)
    port = board.ports[0]                      # rs485.Rs485 of the "multi" port; [1] = "panel"
                                               # (with setting panel_port: the default)
    board.watchdog                             # watchdog.Watchdog (started by the app)
    board.lightsleep(ms)                       # not while USB is plugged in (Pico VBUS sense)
    board.reset()

Profiles are data in board_pico.py / board_esp32.py; the ESP32 one is imported only when chosen.
board_start.py builds a Board (start-only code, let go of on a board once the app is built).
"""

import sys

import machine

from firmware.hw.pins import Inputs, Leds, Outputs
from firmware.hw.watchdog import Watchdog

_OUT_LEVEL_KEYS = ("load_out_high_level", "charge_out_high_level", "prealarm_out_high_level")


class Board:
    # Filled by firmware/hw/board_start.py: the construction runs once, and on a board its code
    # leaves the heap after the start (main.py's let_go).
    name: str
    profile: dict
    outputs: Outputs
    btv: Inputs
    remote_mains: Inputs
    btv_test: machine.Pin
    leds: Leds
    port_names: list
    ports: list  # of Rs485
    watchdog: Watchdog
    can_lightsleep: bool
    vbus: machine.Pin | None
    sleeps: int

    def __init__(self, name="pico", out_levels=None, ports=2):
        from firmware.hw.board_start import init

        init(self, name, out_levels, ports)

    @classmethod
    def from_settings(cls, settings):
        levels = tuple(getattr(settings, k, 1) for k in _OUT_LEVEL_KEYS)
        return cls(settings.board, levels, 2 if settings.panel_port else 1)

    def read_btv(self):
        """Raw levels of the BTV inputs as an int: bit n = input n."""
        return self.btv.read_bits()

    def read_remote_mains(self):
        """Raw levels as an int: bit 0 remote L, bit 1 remote H, bit 2 the mains detector."""
        return self.remote_mains.read_bits()

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
