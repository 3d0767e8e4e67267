"""firmware/bms: what the BMS reads from the bus and says in its slots, rule by rule (vebus.md,
the role's docstring): AC in from the LED frame only, switch requests only from switch frames,
the status frame's flags, each change out in the next slot, one answer per probe, "on" said three
times after a restriction, the firmware version only from both halves. Both VMs."""

from test_bms_role import (
    _controller,
    _feed,
    _feed_panel,
    _multi,
    _pay,
    _role,
    _sent,
    _sync,
    _t,
)
from vmtest import locked, requires_vm

from firmware.bms.relay import Relay
from firmware.bms.role import (
    EV_REQUEST,
    SLOT_MS,
    BmsRole,
)
from firmware.bms.version import OUR_WINMON_ID as WINMON_ID
from firmware.core.codes import TX_PROBE_ANSWER, TX_RELAY, TX_STATUS, TX_SWITCH, TX_VERSION
from firmware.core.protection import Outputs
from firmware.core.settings import Settings
from vebus import ADDR_CONTROLLER, encode_data, peers
from vebus import catalogue as cat


def _running(relay=None):
    """A role with the Multi's version known (no queries in the way) and all allowed."""
    if relay is None:
        role = _role()
    else:
        s = Settings()
        s.set("vebus_mode", "bms")
        role = BmsRole(s, relay)
    role.multi_version = 491
    out = Outputs()
    out.multi_mode = cat.SWITCH_ON
    out.allow_charge = out.allow_discharge = True
    out.charge_rate = 100
    role.set_protection(out)
    return role, out


def _slots(role, n, t):
    """n syncs 20 ms apart; [(sync index, payload)] of what the BMS sent."""
    sent = []
    for k in range(n):
        _feed(role, _sync(k & 0x7F), _t(t))
        f = _sent(role, _t(t))
        if f is not None:
            sent.append((k, role.last_tx, f[2]))
        t += 20
    return sent, t


def test_ac_in_comes_from_the_led_frames_mains_bit_only():
    # vebus.md 0x41 MasterMultiLED: [6] LEDs on (bit 0 mains); 0xE4 carries no AC-in flag
    role = _role()
    for leds, want in ((0x01, True), (0x00, False), (0x03, True), (0x02, False)):
        plen = peers.build_led(_pay, leds, 0, 0, 0, 160, 160, 0)
        _feed(role, _multi(3, plen), _t(0))
        assert role.ac_in is want, leds
    role.ac_in = False
    plen = peers.build_ac_info(_pay, 50000, 26 * 50)  # 15 bytes, not an LED frame
    _feed(role, _multi(4, plen), _t(1))
    assert role.ac_in is False  # (0xE4 frames are skipped whole: nothing in them is used)


def test_only_a_switch_frame_is_a_switch_request():
    role = _role()
    plen = cat.build_winmon(_pay, 0x10, 0x0E, b"\x04\x05\x06\x07", 4)  # a command, 7 bytes
    f = _controller(5, plen)
    _feed(role, f, _t(0))
    _feed_panel(role, f, _t(0))
    assert role.gx_request == 0 and role.dmc_request == 0
    plen = cat.build_switch(_pay, cat.SWITCH_CHARGER_ONLY)
    _feed(role, _controller(6, plen), _t(1))
    assert role.gx_request == cat.SWITCH_CHARGER_ONLY


def test_status_frame_flags_and_each_change_goes_out_in_the_next_slot():
    role, out = _running()
    sent, t = _slots(role, 3, 0)
    assert sent[0][1] == TX_STATUS and sent[0][2][6] == 0 and sent[0][2][7] == 255
    changes = (
        ("allow_charge", False, cat.STATUS_HIGH_CELL),
        ("allow_discharge", False, cat.STATUS_LOW_CELL),
        ("bat_prealarm", True, cat.STATUS_PRE_ALARM),
        ("error", 15, cat.STATUS_ERROR),
    )
    for field, value, flag in changes:
        _slots(role, 10, t)  # quiet: the next status is a second away
        t += 200
        setattr(out, field, value)
        role.set_protection(out)
        sent, t = _slots(role, 1, t)
        assert sent and sent[0][1] == TX_STATUS, field
        assert sent[0][2][6] & flag, field
    assert sent[0][2][8] == 15  # the VE.Bus error code
    _slots(role, 10, t)
    t += 200
    out.charge_rate = 10
    role.set_protection(out)
    sent, t = _slots(role, 1, t)
    assert sent and sent[0][1] == TX_STATUS and sent[0][2][7] == 25  # 10 % of 255


def test_one_probe_gets_one_answer():
    role, _ = _running()
    probe = _controller(3, peers.build_probe(_pay))
    _feed(role, probe, _t(0))
    sent, _ = _slots(role, 100, 10)
    assert [s[1] for s in sent].count(TX_PROBE_ANSWER) == 1


def test_on_is_said_three_times_after_a_restriction_then_never_again():
    role, out = _running()
    out.multi_mode = cat.SWITCH_SLEEP
    role.set_protection(out)
    _, t = _slots(role, 10, 0)
    out.multi_mode = cat.SWITCH_ON
    role.set_protection(out)
    sent, _ = _slots(role, 500, t)  # 10 s
    ons = [k for k, kind, p in sent if kind == TX_SWITCH and p[1] == cat.SWITCH_ON]
    assert ons == [0, 50, 100]


def test_the_firmware_version_needs_both_halves():
    role = _role()
    half = 2629491 & 0xFFFF
    plen = cat.build_winmon(_pay, WINMON_ID, 0x82, bytes((half & 0xFF, half >> 8)))
    _feed(role, _multi(10, plen), _t(0))
    assert role.multi_version == 0  # the low half alone says nothing
    half = 2629491 >> 16
    plen = cat.build_winmon(_pay, WINMON_ID, 0x83, bytes((half & 0xFF, half >> 8)))
    _feed(role, _multi(11, plen), _t(1))
    assert role.multi_version == 491


def test_a_controllers_request_is_an_event_when_it_changes_only():
    role = _role()
    role.tick(_t(0))
    for k, (mode, event) in enumerate(
        ((cat.SWITCH_SLEEP, True), (cat.SWITCH_SLEEP, False), (cat.SWITCH_ON, True))
    ):
        _feed(role, _controller(k, cat.build_switch(_pay, mode)), _t(k))
        assert bool(role.tick(_t(k)) & EV_REQUEST) is event, k
        assert role.last_request == mode


def test_a_frame_goes_out_up_to_slot_ms_after_the_sync_and_never_later():
    # vebus.md: a node answers right after the sync, or a few ms later only if the bus is quiet
    for late, ok in ((0, True), (SLOT_MS, True), (SLOT_MS + 1, False)):
        role, _ = _running()
        _feed(role, _sync(7), _t(0))
        assert (_sent(role, _t(late)) is not None) is ok, late


def test_a_relayed_frame_waits_one_slot_behind_the_bms_own_frames_an_off_none():
    # vebus.md "Two VE.Bus ports": the GX on the Remote panel port reaches the Multi through the
    # BMS, one frame per slot after a sync (docs/protocol.md): a GX frame should wait for the
    # BMS's own frames no longer than it would on the Multi's own segment behind one other
    # node's frame. A frame that switches the Multi off (manual 1: the BMS keeps the Multi from
    # what the BTV loop forbids) goes out first whatever waits.
    relay = Relay()
    role, out = _running(relay)
    _, t = _slots(role, 10, 0)  # the first status is out: a second of quiet ahead
    gx = bytes(_pay[: cat.build_winmon(_pay, 0x10, 0x30, b"\x04\x00")])  # a Winmon read

    def slot(gx_frame=False, probe=False, mode=0):
        """What the next slot carries after these became pending."""
        nonlocal t
        if gx_frame:
            assert relay.queue_multi(gx, len(gx), ADDR_CONTROLLER) == 0
        if probe:
            _feed(role, _controller(1, peers.build_probe(_pay)), _t(t))
        if mode:
            out.multi_mode = mode
            role.set_protection(out)
        sent, t = _slots(role, 1, t)
        if not sent:
            return None
        if sent[0][1] == TX_RELAY:
            assert sent[0][2] == gx  # the GX's frame, renumbered for this sync (_sent checks)
        return sent[0][1]

    assert slot(gx_frame=True, probe=True) == TX_PROBE_ANSWER  # the GX frame has not waited
    assert slot(probe=True, mode=cat.SWITCH_SLEEP) == TX_SWITCH  # an off before everything
    assert slot() == TX_RELAY  # the GX frame waited: before the second probe answer
    assert slot() == TX_PROBE_ANSWER
    assert slot(gx_frame=True, mode=cat.SWITCH_ON) == TX_SWITCH  # "on": the GX frame waits ...
    assert slot(probe=True) == TX_RELAY  # ... one slot, then goes before the probe answer
    assert slot() == TX_PROBE_ANSWER
    assert slot() is None and role.sent[TX_RELAY] == 2 and relay.pending_multi() == 0


def test_a_frame_the_driver_left_out_is_what_the_next_slot_carries():
    # vebus.md: one frame per sync, right after it. A frame the RS485 driver did not put on the
    # wire (its slot was over: firmware/hw/rs485.py) never reached the Multi: what it says goes
    # out after the next sync, 20 ms later, not at its next interval or resend (1 s), nor after
    # the GX asks again. Each kind, and the counts say it went out once.
    relay = Relay()
    role, out = _running(relay)
    _, t = _slots(role, 10, 0)  # the first status is out: a second of quiet ahead
    gx = bytes(_pay[: cat.build_winmon(_pay, 0x10, 0x30, b"\x04\x00")])

    def left_out(kind):
        """The next slot's frame, left out by the driver, then the slot after: their payloads."""
        nonlocal t
        _feed(role, _sync(1), _t(t))
        first = _sent(role, _t(t))
        assert first is not None and role.last_tx == kind, role.last_tx
        role.unsent(_t(t))
        assert role.last_tx == 0  # nothing went out
        _feed(role, _sync(2), _t(t + 20))
        again = _sent(role, _t(t + 20))
        assert again is not None and role.last_tx == kind, role.last_tx
        assert again[1] == 3  # numbered for the sync it follows
        t += 40
        return first[2], again[2]

    _feed(role, _controller(1, peers.build_probe(_pay)), _t(t))
    a, b = left_out(TX_PROBE_ANSWER)
    assert a == b and peers.answer_version(b, len(b)) == 1146100
    out.multi_mode = cat.SWITCH_SLEEP
    role.set_protection(out)
    a, b = left_out(TX_SWITCH)
    assert a == b and b[1] == cat.SWITCH_SLEEP
    out.allow_charge = False
    role.set_protection(out)
    a, b = left_out(TX_STATUS)
    assert a == b
    assert relay.queue_multi(gx, len(gx), ADDR_CONTROLLER) == 0
    a, b = left_out(TX_RELAY)
    assert a == b == gx and relay.relayed[1] == 1 and relay.pending_multi() == 0
    out.multi_mode = cat.SWITCH_ON  # "on" is still said three times, one of them left out
    role.set_protection(out)
    a, b = left_out(TX_SWITCH)
    assert a == b and b[1] == cat.SWITCH_ON
    ons, t = _slots(role, 3 * 50 + 1, t)
    assert [s for s in ons if s[1] == TX_SWITCH] == [(49, TX_SWITCH, b), (99, TX_SWITCH, b)]
    assert role.sent[TX_PROBE_ANSWER] == 1 and role.sent[TX_RELAY] == 1
    assert role.sent[TX_SWITCH] == 4  # sleep, then on three times

    role = _role()  # the version query: each half asked again
    t = 0
    for part in (0x05, 0x06):
        a, b = left_out(TX_VERSION)
        assert a == b and b[1] == WINMON_ID and b[2] == part
    assert role.version.queries == 1


def test_leaving_a_frame_out_allocates_nothing():
    # It runs in the RX-idle IRQ's handler, on every frame the driver leaves out.
    requires_vm()
    relay = Relay()
    role, out = _running(relay)
    role.multi_version = 0  # the version query too
    out.multi_mode = cat.SWITCH_SLEEP
    role.set_protection(out)
    gx = bytes(_pay[: cat.build_winmon(_pay, 0x10, 0x30, b"\x04\x00")])
    assert relay.queue_multi(gx, len(gx), ADDR_CONTROLLER) == 0
    role.probe_pending = True
    sync = bytearray(_sync(1))
    frame = bytearray(80)
    left = bytearray(TX_RELAY + 1)

    def run():
        for k in range(16):
            role.feed(sync, len(sync), _t(20 * k))
            if role.take(_t(20 * k), frame, True) and not k & 1:
                left[role.last_tx] += 1
                role.unsent(_t(20 * k))  # the odd slot after carries it

    locked(run)
    assert all(
        left[kind] for kind in (TX_SWITCH, TX_RELAY, TX_PROBE_ANSWER, TX_VERSION, TX_STATUS)
    ), list(left)


def test_the_status_encoded_ahead_is_numbered_for_each_sync_as_the_encoder_would():
    # The status frame is encoded when it changes and only numbered in the slot: for every
    # frame number and status, byte for byte what vebus.encode_data makes (docs/protocol.md:
    # the checksum, its stuffing), checksums stuffed and not both seen.
    role, out = _running()
    got = bytearray(80)
    want = bytearray(80)
    stuffed = plain = 0
    t = 0
    for k in range(256):
        out.charge_rate = k * 37 % 101  # a new status: due in the next slot
        out.allow_charge = k & 1 == 0
        role.set_protection(out)
        _feed(role, _sync(k & 0x7F), _t(t))
        n = role.take(_t(t), got, True)
        assert role.last_tx == TX_STATUS
        m = encode_data(want, cat.BMS_ADDR, (k + 1) & 0x7F, role._status, cat.STATUS_LEN)
        assert got[:n] == want[:m], k
        if got[n - 3] == 0xFA:
            stuffed += 1
        else:
            plain += 1
        t += 20
    assert stuffed and plain, (stuffed, plain)
