"""Host (CPython) stand-ins for the MicroPython APIs the board code uses. Never deployed.

`install()` makes `import micropython`, `time.ticks_*` and `asyncio.sleep_ms` work on CPython with
the boards' semantics: ticks wrap at 2**30, so code that compares raw tick values breaks here too.
The clock can be replaced (`set_clock`) so a simulator can run the firmware in virtual time.
"""

import asyncio
import sys
import time
import types

TICKS_PERIOD = 1 << 30
TICKS_MAX = TICKS_PERIOD - 1
_HALF = TICKS_PERIOD // 2

# Start near the wrap so a host run crosses it within minutes, as a board does after ~12 days.
_offset_ms = TICKS_PERIOD - 60_000
_clock_ms = None  # None: wall clock; else a callable returning a float of milliseconds


def set_clock(fn=None, offset_ms=None):
    """Use `fn()` (milliseconds, float) as the tick source; None goes back to the wall clock."""
    global _clock_ms, _offset_ms
    _clock_ms = fn
    if offset_ms is not None:
        _offset_ms = offset_ms


def _now_ms():
    return _clock_ms() if _clock_ms is not None else time.monotonic_ns() / 1e6


def ticks_ms():
    return (int(_now_ms()) + _offset_ms) & TICKS_MAX


def ticks_us():
    return (int(_now_ms() * 1000) + _offset_ms * 1000) & TICKS_MAX


def ticks_cpu():
    return ticks_us()


def ticks_add(ticks, delta):
    if not -_HALF <= delta < _HALF:
        raise OverflowError("ticks interval overflow")
    return (ticks + delta) & TICKS_MAX


def ticks_diff(a, b):
    return ((a - b + _HALF) & TICKS_MAX) - _HALF


def sleep_ms(ms):
    time.sleep(ms / 1000)


def sleep_us(us):
    time.sleep(us / 1_000_000)


async def _async_sleep_ms(ms):
    await asyncio.sleep(ms / 1000)


def _const(x):
    return x


def _micropython_module():
    mod = types.ModuleType("micropython")
    mod.const = _const  # type: ignore[attr-defined]
    mod.native = mod.viper = lambda f: f  # type: ignore[attr-defined]
    mod.alloc_emergency_exception_buf = lambda n: None  # type: ignore[attr-defined]
    mod.schedule = lambda f, arg: f(arg)  # type: ignore[attr-defined]
    return mod


def install():
    """Idempotent: patch the running CPython so board modules import and keep their semantics."""
    if "micropython" not in sys.modules:
        sys.modules["micropython"] = _micropython_module()
    for name in (
        "ticks_ms",
        "ticks_us",
        "ticks_cpu",
        "ticks_add",
        "ticks_diff",
        "sleep_ms",
        "sleep_us",
    ):
        setattr(time, name, globals()[name])
    asyncio.sleep_ms = _async_sleep_ms  # type: ignore[attr-defined]
