"""A fake `machine` module for tests and the simulator (CPython and the MicroPython unix port).

Real API subset (what firmware/hw, boot.py and main.py use): Pin (IN, OUT, OPEN_DRAIN, PULL_UP,
PULL_DOWN; value(), init(), on(), off()), mem32 (rp2's GPIO_IN register only), UART (write,
read, readinto, any, txdone, flush, init), WDT(timeout).feed(), Timer (init, deinit), reset(),
lightsleep(), idle(), unique_id(), reset_cause() and the reset-cause constants.

Test side:
  pins                 dict id -> fake Pin (the first object built for that id; every Pin(id)
                       shares one state, like the hardware register it stands for)
  pin.is_floating()    True when the pin drives nothing: mode IN without pull, OPEN_DRAIN at 1
                       without pull, or never configured since the last reset (high impedance)
  pin.external = lvl   what the outside world drives onto the pin (None: nothing, the pull
                       decides; a floating input with nothing driving it reads 0)
  pin.transitions      how many times the pin's driven state (mode/value) changed
  uarts                dict id -> fake UART
  uart.inject(data)    bytes arriving from the wire (an rx overrun drops what does not fit in
                       rxbuf and counts `uart.overruns`, like the real ring buffer)
  uart.take_tx()       bytes the firmware put on the wire since the last call; until its first
                       call at most TX_KEEP bytes are kept (nobody listens: the bytes vanish)
  uart.de              optional Pin: when set, a write while that pin is not driven high is lost
                       (counted in `uart.lost`) as on a real transceiver with DE low
  uart.echo            True (default): written bytes come back on rx, receiver always enabled
  uart.tx_busy_polls   txdone() answers False this many times after each write (default 1);
                       flush() waits them out (as rp2's flush polls txdone)
  uart.tx_stuck        True: flush() raises OSError(ETIMEDOUT) as rp2's does when TX never ends
  timers               every Timer made since the last reset_fakes; timer.fire() runs its
                       callback as its IRQ would
  wdt                  the WDT instance (None until the firmware starts one)
  wdt.expired(now_ms)  True when more than `timeout` ms passed since the last feed
  set_clock(fn)        the ticks_ms callable the fakes read (WDT feeds); default time.ticks_ms
  lightsleep_calls, lightsleep_ms, sleep_hook(ms)   what lightsleep was asked; an optional hook
                       (e.g. a virtual clock advancing by ms)
  reset()              raises ResetRequested (a BaseException: no `except Exception` swallows it)
  reset_fakes(cause)   a simulated power cycle: pins, UARTs and WDT forgotten (files stay);
                       reset_cause() then answers `cause` (PWRON_RESET by default)
"""

import time

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

TX_KEEP = 256

pins = {}
uarts = {}
timers = []
wdt = None
lightsleep_calls = 0
lightsleep_ms = 0
sleep_hook = None
_cause = PWRON_RESET
_clock = None


class ResetRequested(BaseException):
    """machine.reset() was called: the test decides what a reboot means."""


def set_clock(fn=None):
    """Use fn() (ticks in ms) as the fakes' clock; None goes back to time.ticks_ms."""
    global _clock
    _clock = fn


def _now():
    if _clock is not None:
        return _clock()
    return time.ticks_ms()  # pyright: ignore[reportAttributeAccessIssue]


def reset_fakes(cause=PWRON_RESET):
    """Forget every pin, UART and the watchdog: RAM is lost, files are kept."""
    global wdt, lightsleep_calls, lightsleep_ms, _cause, sleep_hook
    for p in pins.values():
        p._s.irq = None  # the old app's handler: a stale pointer to a pin must not keep it
    pins.clear()
    uarts.clear()
    timers.clear()
    wdt = None
    lightsleep_calls = 0
    lightsleep_ms = 0
    sleep_hook = None
    _cause = cause


def reset_cause():
    return _cause


def reset():
    raise ResetRequested()


def soft_reset():
    raise ResetRequested()


def lightsleep(ms=None):
    global lightsleep_calls, lightsleep_ms
    lightsleep_calls += 1
    if ms is not None:
        lightsleep_ms += ms
        if sleep_hook is not None:
            sleep_hook(ms)


def idle():
    pass


irq_off = 0  # nesting depth of disable_irq() (a timer's fire() while > 0 is a test's error)


def disable_irq():
    global irq_off
    irq_off += 1
    return irq_off


def enable_irq(state):
    global irq_off
    irq_off = state - 1


def freq(hz=None):
    return 125_000_000


def unique_id():
    return b"\xe6\x60\x58\x38\x83\x4a\x2b\x2c"


class _PinState:
    def __init__(self):
        self.mode = None  # None: never configured since reset (high impedance)
        self.pull = None
        self.out = 0
        self.external = None
        self.transitions = 0
        self.irq = None  # the handler given to Pin.irq (edge(): the test says when it fires)


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_FALLING = 4
    IRQ_RISING = 8

    def __init__(self, id, mode=-1, pull=-1, *, value=None, drive=None, alt=None):
        self.id = id
        s = pins.get(id)
        if s is None:
            pins[id] = self
            self._s = _PinState()
        else:
            self._s = s._s
        if mode != -1 or pull != -1 or value is not None:
            self.init(mode, pull, value=value)

    def init(self, mode=-1, pull=-1, *, value=None, drive=None, alt=None):
        s = self._s
        m, p, o = s.mode, s.pull, s.out  # no tuple: the hang guard calls this with the heap locked
        if value is not None:
            s.out = 1 if value else 0
        if mode != -1:
            s.mode = mode
        if pull != -1:
            s.pull = pull
        if s.mode != m or s.pull != p or s.out != o:
            s.transitions += 1

    def value(self, x=None):
        s = self._s
        if x is None:
            if s.mode == Pin.OUT:
                return s.out
            if s.mode == Pin.OPEN_DRAIN and s.out == 0:
                return 0
            if s.external is not None:
                return 1 if s.external else 0
            if s.pull == Pin.PULL_UP:
                return 1
            return 0
        x = 1 if x else 0
        if x != s.out:
            s.out = x
            if s.mode == Pin.OUT or s.mode == Pin.OPEN_DRAIN:
                s.transitions += 1
        return None

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def __call__(self, x=None):
        return self.value(x)

    # ---- test side ----
    def is_floating(self):
        s = self._s
        if s.pull is not None:
            return False
        if s.mode is None or s.mode == Pin.IN:
            return True
        return s.mode == Pin.OPEN_DRAIN and s.out == 1

    def is_driven_high(self):
        """True when the pin itself drives a high level (push-pull output at 1)."""
        return self._s.mode == Pin.OUT and self._s.out == 1

    def mode(self):
        return self._s.mode

    def pull(self):
        return self._s.pull

    @property
    def external(self):
        return self._s.external

    @external.setter
    def external(self, level):
        self._s.external = level

    @property
    def transitions(self):
        return self._s.transitions

    def irq(self, handler=None, trigger=None, hard=False):
        self._s.irq = handler

    def edge(self, level):
        """The outside world moves the pin to level; its IRQ handler (if any) runs, as a soft
        IRQ would, before the tasks see the level."""
        self.external = level
        if self._s.irq is not None:
            self._s.irq(self)

    def __repr__(self):
        s = self._s
        return "Pin(%r, mode=%r, pull=%r, out=%r)" % (self.id, s.mode, s.pull, s.out)


class _Mem32:
    """machine.mem32, for the one register the firmware reads: rp2's SIO GPIO_IN (bit k: the
    level of GPIO k, as Pin(k).value() reads it)."""

    GPIO_IN = 0xD0000004

    def __getitem__(self, addr):
        if addr != self.GPIO_IN:
            raise ValueError("fake mem32: no register at 0x%08x" % addr)
        v = 0
        for k in range(30):  # (no dict iterator: the firmware reads it with the heap locked)
            p = pins.get(k)
            if p is not None and p.value():
                v |= 1 << k
        return v


mem32 = _Mem32()


class UART:
    def __init__(self, id, baudrate=9600, bits=8, parity=None, stop=1, **kw):
        self.id = id
        self.rx = bytearray()
        self.tx = bytearray()
        self.listened = False
        self.overruns = 0
        self.lost = 0
        self.writes = 0
        self.echo = True
        self.de = None
        self.tx_busy_polls = 1
        self.tx_stuck = False
        self.on_tx = None  # a simulator's wire: called after each write that reached the line
        self._busy = 0
        self.rxbuf = 256
        self.baudrate = 9600
        self.init(baudrate, bits, parity, stop, **kw)
        uarts[id] = self

    def init(self, baudrate=9600, bits=8, parity=None, stop=1, **kw):
        self.baudrate = baudrate
        self.bits = bits
        self.parity = parity
        self.stop = stop
        self.rxbuf = kw.get("rxbuf") or self.rxbuf
        self.timeout = kw.get("timeout", 0)

    def deinit(self):
        pass

    def any(self):
        return len(self.rx)

    def read(self, n=None):
        if not self.rx:
            return None
        if n is None or n > len(self.rx):
            n = len(self.rx)
        out = bytes(self.rx[:n])
        self.rx[:n] = b""
        return out

    def readinto(self, buf, n=None):
        if not self.rx:
            return None
        m = len(buf) if n is None else min(n, len(buf))
        m = min(m, len(self.rx))
        buf[:m] = self.rx[:m]
        self.rx[:m] = b""
        return m

    def write(self, buf, a=None, b=None):
        # MicroPython stream write: write(buf), write(buf, max_len), write(buf, off, max_len)
        if b is not None:
            buf = bytes(buf[a : a + b])
        elif a is not None:
            buf = bytes(buf[:a])
        n = len(buf)
        self.writes += 1
        self._busy = self.tx_busy_polls
        if self.de is not None and not self.de.is_driven_high():
            self.lost += n
            return n
        if not self.listened and len(self.tx) + n > TX_KEEP:
            self.tx = bytearray()
        self.tx.extend(buf)
        if self.echo:
            self.inject(buf)
        if self.on_tx is not None:
            self.on_tx()
        return n

    def txdone(self):
        if self._busy > 0:
            self._busy -= 1
            return False
        return True

    def flush(self):
        if self.tx_stuck:
            raise OSError(110)  # ETIMEDOUT
        self._busy = 0

    # ---- test side ----
    def inject(self, data):
        room = self.rxbuf - len(self.rx)
        if len(data) > room:
            self.overruns += len(data) - room
            data = data[:room]
        self.rx.extend(data)

    def take_tx(self):
        self.listened = True
        out = bytes(self.tx)
        self.tx = bytearray()
        return out


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1, **kw):
        self.id = id
        self.callback = None
        self.init(**kw)
        timers.append(self)

    def init(self, mode=PERIODIC, period=-1, callback=None, hard=None, freq=None):
        self.mode = mode
        self.period = period
        self.freq = freq
        self.callback = callback
        self.hard = hard

    def deinit(self):
        self.callback = None

    # ---- test side ----
    def fire(self):
        assert not irq_off, "a timer IRQ fired with IRQs disabled"
        cb = self.callback
        if cb is not None:
            if self.mode == self.ONE_SHOT:
                self.callback = None  # fired: a one-shot timer is due again only when re-armed
            cb(self)


class WDT:
    def __init__(self, id=0, timeout=5000):
        global wdt
        self.timeout = timeout
        self.feeds = 0
        self.last_feed = _now()
        wdt = self

    def feed(self):
        self.feeds += 1
        self.last_feed = _now()

    # ---- test side ----
    def expired(self, now_ms):
        return time.ticks_diff(now_ms, self.last_feed) > self.timeout  # pyright: ignore[reportAttributeAccessIssue]
