"""firmware/bms: the slot after a sync, N + 1, priorities, listen mode, presence, probe."""

import time

from vmtest import alloc_bytes, locked, requires_vm

from firmware.bms.role import (
    EV_MULTI_ABSENT,
    EV_MULTI_PRESENT,
    EV_PROBE,
    EV_REQUEST_DROPPED,
    EV_VERSION,
    POLL_MAX_MS,
    REQUEST_HOLD_MS,
    SLOT_MS,
    SYNC_GUARD_MS,
    BmsRole,
)
from firmware.bms.version import OUR_WINMON_ID as WINMON_ID
from firmware.core.codes import TX_PROBE_ANSWER, TX_STATUS, TX_SWITCH, TX_VERSION
from firmware.core.protection import Outputs
from firmware.core.settings import Settings
from vebus import ADDR_MULTI, Decoder, encode_data, encode_sync, peers
from vebus import catalogue as cat

# 2**30 on boards and CPython, 2**62 on the 64-bit unix port
PERIOD = time.ticks_add(0, -1) + 1  # pyright: ignore[reportArgumentType]
T0 = PERIOD - 500  # the tick counter wraps during these tests


def _t(ms):
    return time.ticks_add(T0, ms)


def _role(mode="bms"):
    s = Settings()
    s.set("vebus_mode", mode)
    return BmsRole(s)


_buf = bytearray(80)
_pay = bytearray(32)


def _sync(n):
    plen = peers.build_sync(_pay, 0, 0x1234)
    return bytes(_buf[: encode_sync(_buf, n, _pay, plen)])


def _multi(n, plen):
    return bytes(_buf[: encode_data(_buf, ADDR_MULTI, n, _pay, plen)])


def _controller(n, plen):
    return bytes(_buf[: encode_data(_buf, cat.BMS_ADDR, n, _pay, plen)])


def _feed(role, data, now):
    role.feed(bytearray(data), len(data), now)


def _feed_panel(role, data, now):
    """A frame heard on the Remote panel port, decoded as firmware/bms/panel.py does."""
    Decoder(lambda f: role.controller(f.payload, f.msg, True, now)).feed(data)


class _Got:
    def __init__(self):
        self.frames = []
        self.dec = Decoder(self.on)

    def on(self, f):
        self.frames.append((f.addr, f.frame_no, bytes(f.payload)))


def _sent(role, now, quiet=True):
    out = bytearray(80)
    n = role.take(now, out, quiet)
    if not n:
        return None
    g = _Got()
    g.dec.feed(out, 0, n)
    assert len(g.frames) == 1, "one valid frame per slot"
    return g.frames[0]


def test_listen_mode_never_transmits_but_follows_the_bus():
    role = _role("listen")
    for k in range(5):
        _feed(role, _sync(k), _t(20 * k))
        assert role.take(_t(20 * k), bytearray(80), True) == 0
    assert role.multi_present and role.syncs == 5 and not role.slot_open
    assert role.tick(_t(100)) == EV_MULTI_PRESENT
    assert role.tick(_t(80 + 1000)) == 0
    assert role.tick(_t(80 + 1001)) == EV_MULTI_ABSENT and not role.multi_present


def test_bms_answers_in_the_slot_with_n_plus_1_and_never_late_or_into_traffic():
    role = _role()
    _feed(role, _sync(127), _t(0))
    f = _sent(role, _t(1))
    assert f is not None
    addr, n, p = f
    assert addr == cat.BMS_ADDR and n == 0  # (127 + 1) & 0x7F
    assert p[0] == cat.MSG_WINMON and p[1] == WINMON_ID and p[2] == 0x05
    assert role.take(_t(1), bytearray(80), True) == 0  # one frame per sync
    _feed(role, _sync(5), _t(20))
    assert _sent(role, _t(20 + SLOT_MS + 1)) is None  # too late after the sync
    _feed(role, _sync(6), _t(40))
    assert _sent(role, _t(41), quiet=False) is None  # bytes arriving: a frame in progress
    _feed(role, _sync(7), _t(60))
    plen = peers.build_ac_info(_pay, 50000, 1300)
    _feed(role, _multi(8, plen), _t(61))  # the Multi used the slot itself
    assert _sent(role, _t(61)) is None
    half = _sync(9)
    _feed(role, _sync(9), _t(80))
    _feed(role, half[:4], _t(81))  # a frame has started
    assert _sent(role, _t(81)) is None
    assert role.slots_missed == 3


def test_the_bus_task_sleeps_until_just_before_the_next_sync():
    role = _role()
    assert role.poll_ms(_t(0), 2) == 2  # no Multi yet: poll
    _feed(role, _sync(0), _t(0))
    assert role.poll_ms(_t(1), 2) == 2  # one sync: its period is not known yet
    _feed(role, _sync(1), _t(21))  # read 1 ms late: measured from read times
    assert role.sync_period == 21
    assert role.poll_ms(_t(22), 2) == 21 - SYNC_GUARD_MS - 1  # awake 6 ms before it is due
    assert role.poll_ms(_t(21 + 16), 2) == 2  # inside the guard: poll
    _feed(role, _sync(3), _t(61))  # sync 2 was lost (noise): 40 ms, the period barely moves
    assert role.sync_period == 22 and role.poll_ms(_t(61), 2) == 22 - SYNC_GUARD_MS
    _feed(role, _sync(4), _t(80))  # shorter: taken at once
    assert role.sync_period == 19
    _feed(role, _sync(5), _t(280))  # a Multi syncing every 200 ms is followed 1 ms a sync
    assert role.sync_period == 20
    role.sync_period = 200
    assert role.poll_ms(_t(280), 2) == POLL_MAX_MS  # never longer than the receive buffer holds
    assert role.poll_ms(_t(280 + 190), 2) == 4
    role.tick(_t(280 + 1001))  # absent: back to polling, the next period measured anew
    assert not role.multi_present and role.poll_ms(_t(280 + 1001), 2) == 2
    _feed(role, _sync(6), _t(2000))
    assert role.sync_period == 0 and role.poll_ms(_t(2000), 2) == 2


def test_version_query_then_status_at_its_interval_longer_in_low_power():
    role = _role()
    out = Outputs()
    out.multi_mode = cat.SWITCH_ON
    out.allow_charge = True
    out.allow_discharge = True
    out.charge_rate = 100
    role.set_protection(out)
    kinds = []
    t = 0
    for k in range(3):
        _feed(role, _sync(k), _t(t))
        _sent(role, _t(t))
        kinds.append(role.last_tx)
        t += 20
    assert kinds[:2] == [TX_VERSION, TX_VERSION] and kinds[2] == TX_STATUS
    # the Multi answers: 0x82 low half, 0x83 high half of 2629491
    for code, half in ((0x82, 2629491 & 0xFFFF), (0x83, 2629491 >> 16)):
        plen = cat.build_winmon(_pay, WINMON_ID, code, bytes((half & 0xFF, half >> 8)))
        _feed(role, _multi(10, plen), _t(t))
    assert role.multi_version == 491 and role.version_full == 2629491
    assert role.tick(_t(t)) & EV_VERSION
    status_at = []
    for k in range(150):  # 3 s of syncs, each read 0-2 ms after it came
        t += 20
        r = t + (k * 7) % 3
        _feed(role, _sync(k & 0x7F), _t(r))
        f = _sent(role, _t(r))
        if f is not None:
            assert f[2][0] == cat.MSG_INFO and peers.is_bms_status(f[2], len(f[2]))
            assert f[2][6] == 0 and f[2][7] == 255  # all allowed, full charge rate
            status_at.append(t)
    # every second on the dot (by sync), whatever the read jitter: never a sync late
    assert [b - a for a, b in zip(status_at, status_at[1:])] == [1000, 1000]
    out.low_power = True
    out.allow_charge = False
    out.charge_rate = 10
    role.set_protection(out)
    sent = 0
    for k in range(500):  # 10 s
        t += 20
        _feed(role, _sync(k & 0x7F), _t(t))
        f = _sent(role, _t(t))
        if f is not None:
            sent += 1
            assert f[2][6] == cat.STATUS_HIGH_CELL and f[2][7] == 25
    assert sent == 1  # status_interval_low_power_ms = 10 s


def test_a_change_of_what_the_status_says_goes_out_in_the_next_slot():
    role = _role()
    out = Outputs()
    out.multi_mode = cat.SWITCH_ON
    out.allow_charge = out.allow_discharge = True
    out.charge_rate = 100
    out.low_power = True  # the long interval: a change must not wait for it
    role.set_protection(out)
    t = 0
    for k in range(5):  # version queries, then the first status
        _feed(role, _sync(k), _t(t))
        _sent(role, _t(t))
        t += 20
    assert role.last_tx == TX_STATUS
    for k in range(50):  # 1 s: nothing new to say in low power
        _feed(role, _sync(k & 0x7F), _t(t))
        assert _sent(role, _t(t)) is None or role.last_tx != TX_STATUS
        t += 20
    out.low_power = False
    out.allow_discharge = False  # low cell
    role.set_protection(out)
    _feed(role, _sync(60), _t(t))
    f = _sent(role, _t(t))
    assert f is not None and peers.is_bms_status(f[2], len(f[2]))
    assert f[2][6] & cat.STATUS_LOW_CELL


def test_switch_frames_when_protection_restricts_the_multi_then_released():
    role = _role()
    out = Outputs()
    role.multi_version = 491  # no version queries in the way
    out.multi_mode = cat.SWITCH_ON
    role.set_protection(out)
    switches = []
    t = 0
    for k in range(300):
        if k == 50:
            out.multi_mode = cat.SWITCH_SLEEP
            role.set_protection(out)
        if k == 150:
            out.multi_mode = cat.SWITCH_ON
            role.set_protection(out)
        _feed(role, _sync(k & 0x7F), _t(t))
        f = _sent(role, _t(t))
        if f is not None and role.last_tx == TX_SWITCH:
            switches.append((k, f[2][1]))
        t += 20
    assert switches[0] == (50, cat.SWITCH_SLEEP)  # at once, then every second
    assert [k for k, s in switches if s == cat.SWITCH_SLEEP] == [50, 100]
    assert [k for k, s in switches if s == cat.SWITCH_ON] == [150, 200, 250]


def test_gx_probe_on_the_multi_port_is_answered_there_first_as_a_v2():
    role = _role()
    plen = peers.build_probe(_pay)
    probe = _controller(3, plen)
    _feed_panel(role, probe, _t(0))  # heard on the panel port: answered there (panel.py)
    assert role.tick(_t(0)) & EV_PROBE and not role.probe_pending
    _feed(role, probe, _t(0))
    assert role.tick(_t(0)) & EV_PROBE and role.probe_pending
    _feed(role, _sync(4), _t(10))
    f = _sent(role, _t(10))
    assert f is not None
    addr, n, p = f
    assert role.last_tx == TX_PROBE_ANSWER and n == 5
    assert peers.answer_version(p, len(p)) == 1146100
    listen = _role("listen")
    listen.feed(bytearray(probe), len(probe), _t(0))
    _feed(listen, _sync(4), _t(10))
    assert listen.probes == 1 and listen.take(_t(10), bytearray(80), True) == 0


def test_switch_requests_are_the_dmcs_on_the_panel_port_when_one_is_fitted():
    plen = cat.build_switch(_pay, cat.SWITCH_CHARGER_ONLY)
    panel = bytearray(_controller(3, plen))
    plen = cat.build_switch(_pay, cat.SWITCH_SLEEP)
    multi_port = bytearray(_controller(7, plen))
    role = _role()  # no DMC: any controller's request is the GX's
    _feed_panel(role, panel, _t(0))
    assert role.gx_request == cat.SWITCH_CHARGER_ONLY and role.dmc_request == 0
    s = Settings()
    s.set("dmc_present", True)
    role = BmsRole(s)
    _feed_panel(role, panel, _t(0))
    role.feed(multi_port, len(multi_port), _t(1))
    assert role.dmc and role.dmc_request == cat.SWITCH_CHARGER_ONLY
    assert role.gx_request == cat.SWITCH_SLEEP  # core ignores it with a DMC present
    role.tick(_t(3500))  # a request holds (../shared/vebus.md: GX / DMC control the Multi) ...
    assert role.dmc_request == cat.SWITCH_CHARGER_ONLY and role.gx_request == cat.SWITCH_SLEEP
    ev = role.tick(_t(2 + REQUEST_HOLD_MS))  # ... until unrepeated for three repeat periods
    assert role.dmc_request == 0 and role.gx_request == 0 and ev & EV_REQUEST_DROPPED


def test_low_power_sleeps_end_two_sync_periods_before_the_next_duty():
    # Low-power mode with the Multi present (firmware/app.py "Low power"): the board sleeps
    # between duties and is awake two sync periods (+ SYNC_GUARD_MS) before the next one.
    role = _role()
    assert role.sleep_ms(_t(0), 15) == 15  # no Multi: nothing on the bus to wake for
    _feed(role, _sync(0), _t(0))
    assert role.sleep_ms(_t(1), 15) == 0  # the period is not known yet
    _feed(role, _sync(1), _t(20))
    assert role.sleep_ms(_t(20), 15) == 0  # a sync in hand: its slot is open
    assert _sent(role, _t(20)) is not None  # the first slot: everything is due
    o = Outputs()
    o.multi_mode = cat.SWITCH_SLEEP  # the Multi held off: a switch frame every second
    o.low_power = True
    role.set_protection(o)
    _feed(role, _sync(2), _t(40))
    assert _sent(role, _t(40)) is not None
    assert role.sleep_ms(_t(41), 15) == 0  # the version query and status are still due
    for k in range(3, 60):  # let every first-round frame out
        _feed(role, _sync(k), _t(20 * k))
        _sent(role, _t(20 * k))
    role.multi_version = 491
    _feed(role, _sync(60), _t(1200))
    _sent(role, _t(1200))
    role._switch_at = _t(1200)
    role._status_at = _t(9000)
    role.sync_period = 20
    awake = 2 * 20 + SYNC_GUARD_MS
    # the next duties: a sync read for the presence check 500 ms on, the switch repeat 1 s
    assert role.sleep_ms(_t(1201), 15) == 15
    assert role.sleep_ms(_t(1201), 5000) == 500 - 1 - awake
    _feed(role, _sync(61), _t(1700))
    role.slot_open = False  # nothing was due in that slot
    role.sync_period = 20
    assert role.sleep_ms(_t(1701), 5000) == 500 - 1 - awake  # the switch at t = 2200
    assert role.sleep_ms(_t(2200 - awake), 5000) == 0
    assert role.slots_missed == 0
    listen = _role("listen")  # nothing to send: a sync read every 500 ms for presence
    _feed(listen, _sync(0), _t(0))
    _feed(listen, _sync(1), _t(20))
    listen.slot_open = False
    assert listen.sleep_ms(_t(20), 5000) == 500 - awake


def test_slot_handling_does_not_allocate():
    requires_vm()
    role = _role()
    role.multi_version = 491
    sync = bytearray(_sync(1))
    out = bytearray(80)
    ns = bytearray(1)

    def run():
        for k in range(100):
            role.feed(sync, len(sync), k * 20)
            ns[0] = role.take(k * 20, out, True)
            role.tick(k * 20)
            role.sleep_ms(k * 20 + 1, 15)  # the low-power sleep budget, every step

    run()
    assert ns[0] == 0 or ns[0] > 8
    assert alloc_bytes(run) == 0
    locked(run)


def test_a_multi_that_never_answers_the_version_query_is_asked_less_often():
    role = _role()
    asked = []
    t = 0
    for k in range(3500):  # 70 s of syncs, no replies
        _feed(role, _sync(k & 0x7F), _t(t))
        _sent(role, _t(t))
        if role.last_tx == TX_VERSION:
            asked.append(t)
            role.last_tx = 0
        t += 20
    rounds = asked[::2]  # 0x05 then 0x06 in consecutive slots
    gaps = [b - a for a, b in zip(rounds, rounds[1:])]
    # the wait runs from the second half of a round (20 ms after the first)
    assert gaps[:9] == [1020] * 9 and gaps[9] == 30020 and len(rounds) == 12


def test_a_copy_of_the_last_sync_opens_no_slot():
    # A looped Remote panel cable brings the BMS's relayed sync back to its Multi port a few ms
    # after the Multi's own (docs/protocol.md: one frame right after the sync's FF): the copy
    # is not a new sync, so nothing goes out after it.
    role = _role()
    _feed(role, _sync(10), _t(0))
    assert _sent(role, _t(1)) is not None  # the slot after the Multi's sync
    _feed(role, _sync(10), _t(3))
    assert not role.slot_open and _sent(role, _t(4)) is None and role.syncs == 1
    _feed(role, _sync(11), _t(20))  # the Multi's next sync: a slot again
    assert role.slot_open and role.syncs == 2


def test_the_first_sync_and_its_slots_frame_allocate_nothing():
    # The first frame after boot goes out from the RX-idle IRQ a fixed time after the sync, as
    # every later one (docs/bench-testing.md, the slot offset): nothing on its path may be made
    # on first use. A sync's stamp bytes and checksum may be stuffed (0xFB..0xFF): each length.
    requires_vm()
    out = bytearray(80)
    for stamp in (0x1234, 0x12FB, 0xFCFD, 0x0102):
        plen = peers.build_sync(_pay, 0, stamp)
        data = _buf[: encode_sync(_buf, 5, _pay, plen)]
        role = _role()
        sent = [0]

        def run(role=role, data=data, sent=sent):
            role.feed(data, len(data), _t(0))
            sent[0] = role.take(_t(0), out, True)

        locked(run)
        assert role.syncs == 1 and sent[0] > 0, hex(stamp)
