"""Outputs, polled inputs and LEDs on plain GPIO pins.

Outputs (load disconnect, charge disconnect, pre-alarm) have two states only: ON drives the pin to
its active level, OFF makes it truly high impedance (Pin.IN with the pull explicitly removed: an
RP2040 pin keeps its reset pull-down unless told `pull=None`). The output stage's own resistor then
holds the load or charger off, as with the original's "floating" outputs. Nothing here allocates
after construction.
"""

from machine import Pin, mem32
from micropython import const

LOAD_DISCONNECT = const(0)
CHARGE_DISCONNECT = const(1)
PRE_ALARM = const(2)
OUTPUT_NAMES = ("load_disconnect", "charge_disconnect", "pre_alarm")


def float_pin(pin):
    """High impedance: input, no pull. (`pull=None` removes the pull; the stubs type it int.)"""
    pin.init(Pin.IN, None)  # pyright: ignore[reportArgumentType]


class Outputs:
    """The three outputs. specs: ((pin_id, active_level), ...) in OUTPUT_NAMES order."""

    def __init__(self, specs):
        self.pins = []
        self.active = bytearray(len(specs))
        self.state = bytearray(len(specs))  # 1 = ON (driven), 0 = OFF (floating)
        for i, (pin_id, level) in enumerate(specs):
            p = Pin(pin_id)
            float_pin(p)
            self.pins.append(p)
            self.active[i] = 1 if level else 0

    def set(self, i, on):
        """Drive output i ON (active level) or OFF (high impedance); only acts on a change."""
        on = 1 if on else 0
        if self.state[i] == on:
            return
        p = self.pins[i]
        if on:
            p.init(Pin.OUT, value=self.active[i])
        else:
            p.init(Pin.IN, None)  # pyright: ignore[reportArgumentType]  (float_pin, one call less)
        self.state[i] = on

    def is_on(self, i):
        return self.state[i] == 1

    def safe(self):
        """Every output OFF (floating), whatever state was recorded: the crash and boot path."""
        for i in range(len(self.pins)):
            float_pin(self.pins[i])
            self.state[i] = 0


class Inputs:
    """Polled digital inputs. specs: ((name, pin_id, pull), ...); pull is "up", "down" or None.

    read_bits() returns the raw levels, bit n = input n in specs order. Polarity and meaning are
    decided by firmware/core from the settings, not here. gpio_in (0: none): the address of a
    register holding every GPIO's level, bit k = GPIO k (rp2's SIO GPIO_IN); inputs on
    consecutive GPIOs are then read in one load and a shift, not a Pin.value() call each.
    """

    def __init__(self, specs, gpio_in=0):
        self.pins = []
        ids = []
        for _name, pin_id, pull in specs:
            mode_pull = Pin.PULL_UP if pull == "up" else Pin.PULL_DOWN if pull == "down" else None
            self.pins.append(Pin(pin_id, Pin.IN, mode_pull))  # pyright: ignore[reportArgumentType]
            ids.append(pin_id)
        first = ids[0] if ids else 0
        self._reg = gpio_in if ids == list(range(first, first + len(ids))) else 0
        self._shift = first
        self._mask = (1 << len(ids)) - 1

    def on_edge(self, handler, mask):
        """handler(pin) at each edge of input n for every bit n of mask (soft IRQ)."""
        for i in range(len(self.pins)):
            if mask >> i & 1:
                self.pins[i].irq(handler, Pin.IRQ_RISING | Pin.IRQ_FALLING)

    def read_bits(self):
        """The raw levels as an int, bit n = input n (nothing stored)."""
        if self._reg:
            return (mem32[self._reg] >> self._shift) & self._mask
        pins = self.pins
        v = 0
        for i in range(len(pins)):
            if pins[i].value():
                v |= 1 << i
        return v


class Leds:
    """LEDs on push-pull pins. specs: ((name, pin_id, active_level), ...)."""

    def __init__(self, specs):
        self.pins = []
        self.active = bytearray(len(specs))
        self.state = bytearray(len(specs))
        for i, (_name, pin_id, level) in enumerate(specs):
            self.active[i] = 1 if level else 0
            self.pins.append(Pin(pin_id, Pin.OUT, value=self.active[i] ^ 1))

    def set(self, i, on):
        on = 1 if on else 0
        if self.state[i] != on:
            self.state[i] = on
            self.pins[i].value(on ^ self.active[i] ^ 1)

    def off(self):
        for i in range(len(self.pins)):
            self.set(i, 0)
