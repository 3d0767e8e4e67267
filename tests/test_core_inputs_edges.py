"""firmware/core remote.py, mains.py, leds.py at their edges: the remote terminal read from the
levels of docs/hardware.md's front end, an input that comes back after going stale, the LED
patterns' exact times (manual 5.2). Runs on both VMs."""

import time

from firmware.core.codes import PAT_FAULTY_APP, PAT_HEARTBEAT, PAT_LISTEN, PAT_OFF, PAT_ON
from firmware.core.leds import Leds
from firmware.core.mains import Mains
from firmware.core.remote import Remote
from firmware.core.settings import Settings

T0 = time.ticks_add(0, -3000)  # pyright: ignore[reportArgumentType]  (crosses the wrap)


def _at(ms):
    return time.ticks_add(T0, ms)  # pyright: ignore[reportArgumentType]


def _held(inp, t0, t1, *levels):
    """Sample levels every 5 ms from t0 to t1 (ms after T0)."""
    for t in range(t0, t1 + 1, 5):
        inp.sample(_at(t), *levels)


def _remote_from_levels(mode, l_lv, h_lv):
    s = Settings()
    s.set("remote_mode", mode)
    r = Remote(s)
    _held(r, 0, 100, l_lv, h_lv)  # no bridge test on the board: read from the levels
    return r.on(_at(100))


def test_remote_bridge_read_from_the_front_end_levels():
    # docs/hardware.md: L has a pull-up, H a pull-down. Open terminal: L 1, H 0. Bridge L-H:
    # both at ~4.5 V, L 1 and H 1 (the same levels as H driven high with L open). L to minus:
    # L 0, H 0 (the pull-down holds H).
    assert _remote_from_levels("bridge", 1, 1)
    assert not _remote_from_levels("bridge", 1, 0)
    assert not _remote_from_levels("bridge", 0, 0)
    assert not _remote_from_levels("bridge", 0, 1)  # L low: not a bridge whatever H reads
    assert _remote_from_levels("any", 1, 1) and not _remote_from_levels("any", 1, 0)
    assert _remote_from_levels("l_low", 0, 0) and not _remote_from_levels("l_low", 1, 1)


def test_a_board_bridge_test_overrules_the_levels():
    # A board with its own bridge test tells H driven high (L open) from a bridge: "bridge" mode
    # then accepts only the bridge.
    s = Settings()
    s.set("remote_mode", "bridge")
    r = Remote(s)
    _held(r, 0, 100, 1, 1, 0)
    assert not r.on(_at(100))
    r = Remote(s)
    _held(r, 0, 100, 1, 1, 1)
    assert r.on(_at(100))


def test_remote_known_only_once_both_levels_are_debounced():
    r = Remote(Settings())  # debounce_ms 50
    assert not r.known()
    for t in range(0, 100, 5):  # L steady, H still bouncing: not known
        r.sample(_at(t), 1, (t // 5) & 1)
    r.on(_at(95))
    assert not r.known()
    r = Remote(Settings())
    _held(r, 0, 40, 0, 0)
    r.on(_at(40))
    assert not r.known()
    _held(r, 45, 60, 0, 0)
    assert r.on(_at(60)) and r.known()
    assert not r.on(_at(60 + 501)) and not r.known()  # stale_ms 500 without a sample


def test_remote_back_from_stale_is_debounced_again():
    # A stale input's old level is not trusted: after the gap the terminal reads off until the
    # new samples have been steady for debounce_ms.
    r = Remote(Settings())
    _held(r, 0, 100, 0, 0)  # L to minus: on
    assert r.on(_at(100))
    assert not r.on(_at(700))  # stale
    r.sample(_at(705), 0, 0)
    assert not r.on(_at(705)) and not r.known()
    _held(r, 710, 760, 0, 0)
    assert r.on(_at(760))


def test_remote_bridge_or_h_high_back_from_stale_is_debounced_again():
    for mode in ("any", "bridge", "h_high"):
        s = Settings()
        s.set("remote_mode", mode)
        r = Remote(s)
        _held(r, 0, 100, 1, 1)  # bridge L-H (or H high): on
        assert r.on(_at(100)), mode
        assert not r.on(_at(700)), mode
        r.sample(_at(705), 1, 1)
        assert not r.on(_at(705)), mode
        _held(r, 710, 760, 1, 1)
        assert r.on(_at(760)), mode


def test_mains_back_from_stale_is_debounced_again():
    m = Mains(Settings())  # AC present = the optocoupler pulls the input low (level 0)
    _held(m, 0, 100, 0)
    assert m.present(_at(100))
    assert not m.present(_at(700))
    m.sample(_at(705), 0)
    assert not m.present(_at(705))
    _held(m, 710, 760, 0)
    assert m.present(_at(760))


def test_heartbeat_keeps_its_10_s_grid_across_a_long_gap():
    # Manual 5.2: a short flash about every 10 s. The LED task may not ask for the pattern for a
    # while (the status LED was on or off); the flashes come back on the same grid.
    leds = Leds()
    assert leds.level(PAT_HEARTBEAT, _at(0)) == 1  # the first flash starts at once
    assert leds.level(PAT_HEARTBEAT, _at(59)) == 1 and leds.level(PAT_HEARTBEAT, _at(60)) == 0
    assert leds.level(PAT_ON, _at(1000)) == 1
    assert leds.level(PAT_HEARTBEAT, _at(25030)) == 0
    assert leds.level(PAT_HEARTBEAT, _at(29999)) == 0
    assert leds.level(PAT_HEARTBEAT, _at(30000)) == 1
    assert leds.level(PAT_HEARTBEAT, _at(30059)) == 1
    assert leds.level(PAT_HEARTBEAT, _at(30060)) == 0


def test_listen_and_faulty_patterns_exact_times():
    leds = Leds()
    lv = [leds.level(PAT_LISTEN, _at(t)) for t in range(0, 10000)]
    on = [t for t in range(0, 10000) if lv[t]]
    assert on == list(range(0, 60)) + list(range(300, 360))  # two 60 ms flashes 0.3 s apart
    assert set(lv) == {0, 1}  # pin levels
    leds = Leds()
    lv = [leds.level(PAT_FAULTY_APP, _at(t)) for t in range(0, 132)]
    assert lv == ([1] * 33 + [0] * 33) * 2  # 66 ms period: about 15 flashes a second


def test_next_ms_is_the_time_to_each_patterns_next_change():
    # The LED task sleeps until then (firmware/app.py): every flash edge of the patterns above,
    # to the ms; a steady pattern changes never (one heartbeat period: the task wakes anyway).
    n = 10400
    for pattern in (PAT_OFF, PAT_ON, PAT_HEARTBEAT, PAT_LISTEN, PAT_FAULTY_APP):
        leds = Leds()
        lv = bytearray(n)
        for t in range(n):
            lv[t] = leds.level(pattern, _at(t))
        edges = [t for t in range(1, n) if lv[t] != lv[t - 1]]  # the ms a level starts
        assert edges or pattern in (PAT_OFF, PAT_ON), pattern
        leds = Leds()
        k = 0
        for t in range(n):
            leds.level(pattern, _at(t))
            ms = leds.next_ms(pattern, _at(t))
            while k < len(edges) and edges[k] <= t:
                k += 1
            if k < len(edges):
                assert ms == edges[k] - t, (pattern, t, ms, edges[k])
            else:  # no change left in the run: none due before its end
                assert t + ms >= n or pattern in (PAT_OFF, PAT_ON), (pattern, t, ms)


def test_a_clock_read_before_the_anchor_re_anchors():
    leds = Leds()
    leds.level(PAT_HEARTBEAT, _at(100))
    assert leds.level(PAT_HEARTBEAT, _at(50)) == 1  # earlier than the anchor: a new flash
    assert leds.level(PAT_HEARTBEAT, _at(110)) == 0  # 60 ms after the new anchor
