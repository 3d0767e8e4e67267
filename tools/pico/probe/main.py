# The measurement probe of tools/pico: on the emulated Pico only, never deployed to a board.
# Installed as /main.py with the deployed main.py beside it as /fw_main.py: it runs the firmware's
# main() unchanged, and once startup's check has put the image on the path (its build()), wraps a
# few App methods with cycle markers (rp2emu's watchdog scratch registers; see its README). Trigger
# pins driven by the stimulus ask for a measurement or a fault: HEAP (gc.mem_free after gc.collect,
# printed, and the slot counters), STOP (a task cancelled: it never checks in again), BUSY (a busy
# loop in Python code inside a step): GPIO 28, 27, 26 as in tools/pico/stim.py. A real board never
# has this file.
import gc

import fw_main  # pyright: ignore[reportMissingImports]  (the deployed main.py, renamed)
from machine import Pin, mem32

import startup

START = 0x40058014
STOP = 0x40058018
S_PROTECT = 1  # App.protect_edge: the inputs task runs the protect step's read + decision
S_FEED = 2
S_INPUTS = 3
S_BUS = 4
S_LOG = 5
S_RX_IRQ = 6  # the Multi port's RX-idle soft IRQ: another context, inside the step it interrupts
S_PROBE = 7  # the probe's own heap measurement (a collection and a print: ~40 ms, every task held)
S_CHECK_IN = 10  # + the task's index: each watchdog check-in (the gaps between them)
_pins = {}


def pin(n):
    p = _pins.get(n)
    if p is None:
        p = _pins[n] = Pin(n, Pin.IN, Pin.PULL_DOWN)
    return p


def wrap(cls, name, sid):
    """Markers around cls.name(self, now), cls.name(self, now, moved) (protect_edge and
    protect_read), or (for feed) cls.name(self, buf, n, now). No *args:
    a tuple per call would allocate, and the collections that follow would be the probe's."""
    f = getattr(cls, name, None)
    if f is None:
        print("probe: no %s.%s: its figure is missing" % (cls.__name__, name))
        return

    def marked(self, now, x=-1):
        mem32[START] = sid
        r = f(self, now) if x < 0 else f(self, now, x)
        mem32[STOP] = sid
        return r

    def marked3(self, buf, n, now):
        mem32[START] = sid
        r = f(self, buf, n, now)
        mem32[STOP] = sid
        return r

    setattr(cls, name, marked3 if name == "feed" else marked)


_done = set()
_orig = {}


def leds_step(self, now):
    _orig["leds_step"](self, now)
    if pin(28).value() and 28 not in _done:
        _done.add(28)
        mem32[START] = S_PROBE
        gc.collect()
        print("PROBE heap free=%d alloc=%d" % (gc.mem_free(), gc.mem_alloc()))
        # the Multi port's frames not sent (their slot over) and the role's slots left unused
        print("PROBE slots late=%d missed=%d" % (self.port.slots_late, self.role.slots_missed))
        mem32[STOP] = S_PROBE
    if pin(27).value() and 27 not in _done:
        _done.add(27)
        print("PROBE stop task protect")
        self.tasks[_orig["T_PROTECT"]].cancel()
    if pin(26).value():
        print("PROBE busy loop")
        while True:
            pass


def build(*a, **k):
    """startup.build, after the markers are in: the image is on the path by now."""
    from firmware import app as fw_app
    from firmware.bms import role as fw_role
    from firmware.hw import watchdog as fw_wd

    wrap(fw_app.App, "protect_edge", S_PROTECT)
    wrap(fw_app.App, "protect_read", 8)  # the protect task's slices (figures.S_PROTECT_*)
    wrap(fw_app.App, "protect_decide", 9)
    wrap(fw_app.App, "protect_follow", 17)
    wrap(fw_app.App, "inputs_step", S_INPUTS)
    wrap(fw_app.App, "bus_step", S_BUS)
    wrap(fw_app.App, "log_step", S_LOG)
    wrap(fw_app.App, "multi_rx_idle", S_RX_IRQ)
    wrap(fw_role.BmsRole, "feed", S_FEED)
    check_in = fw_wd.Watchdog.check_in

    def marked_check_in(self, i, now):
        mem32[START] = S_CHECK_IN + i
        check_in(self, i, now)
        mem32[STOP] = S_CHECK_IN + i

    fw_wd.Watchdog.check_in = marked_check_in
    _orig["leds_step"] = fw_app.App.leds_step
    _orig["T_PROTECT"] = fw_app.TASK_NAMES.index("protect")
    fw_app.App.leds_step = leds_step
    real = _orig.pop("build")  # not kept: on a board main() lets startup.py's code go
    return real(*a, **k)


_orig["build"] = startup.build
startup.build = build
del startup  # main() lets it go once the app is built
fw_main.main()
