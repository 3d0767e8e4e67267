"""The relay between the Multi port and the Remote panel port (firmware/bms/relay.py).

The wire facts come from vebus.md: a sync `83 83 FD N 55 ...`, a node's frame numbered N + 1 in
the slot after it, the checksum rule (frame_sum_ok), switch frames `3F s`, Winmon commands.
The relay rules themselves are inferred (docs/protocol.md); these tests hold them to the manual's
aim (3.5: the GX on the Remote panel port sees the Multi and the BMS) and to the bounds.
"""

from vmtest import alloc_bytes, locked, requires_vm

from firmware.bms import relay as rl
from vebus import (
    ADDR_CONTROLLER,
    ADDR_MULTI,
    Decoder,
    encode_data,
    encode_sync,
    frame_sum_ok,
    next_frame_no,
    peers,
)
from vebus import catalogue as cat


class _Seg:
    """One segment's wire: frames encoded as their senders would, decoded as the BMS does."""

    def __init__(self, on):
        self.dec = Decoder(on)
        self.buf = bytearray(80)

    def sync(self, n):
        k = encode_sync(self.buf, n, b"\x55\x51\x18\x02")
        self.dec.feed(self.buf, 0, k)
        return bytes(self.buf[:k])

    def data(self, addr, n, payload):
        k = encode_data(self.buf, addr, n, payload)
        self.dec.feed(self.buf, 0, k)
        return bytes(self.buf[:k])


class _Verdicts:
    """What the relay said of each panel-side frame: a count per verdict and the last one."""

    def __init__(self):
        self.count = [0] * len(rl.V_NAMES)
        self.last = -1

    def note(self, v):
        self.count[v] += 1
        self.last = v


def _rig():
    r = rl.Relay()
    got = _Verdicts()
    multi = _Seg(lambda f: r.from_multi(f, 0))
    panel = _Seg(lambda f: got.note(r.from_panel(f, 0)))
    return r, multi, panel, got


def _drain_panel(r, now=100):
    frames = []
    while True:
        n = r.take_panel(now, True, r.to_panel.lens[r.to_panel.head])  # one frame
        if not n:
            return frames
        frames.append(bytes(r.to_panel.buf[r.panel_at : r.panel_at + n]))
        now += rl.SLOT_MS  # the panel devices' slot after a sync has passed


def test_the_multis_frames_reach_the_panel_side_byte_for_byte_in_order():
    r, multi, _, _ = _rig()
    wire = [multi.sync(0x10)]
    led = bytearray(cat.LED_LEN)
    peers.build_led(led, 1, 0, 0, 100, 300, 160, 0x30)
    wire.append(multi.data(ADDR_MULTI, 0x11, led))
    wire.append(multi.sync(0x12))
    assert _drain_panel(r) == wire
    assert r.relayed[0] == 3


def test_a_frame_failing_its_checksum_is_never_relayed():
    r, multi, _, _ = _rig()
    k = encode_sync(multi.buf, 5, b"\x55\x51\x18\x02")
    multi.buf[5] ^= 0x01
    multi.dec.feed(multi.buf, 0, k)
    assert _drain_panel(r) == []


def test_the_panel_side_keeps_its_devices_slot_after_a_relayed_sync():
    r, multi, _, _ = _rig()
    multi.sync(0x20)
    multi.data(ADDR_MULTI, 0x21, b"\xe4" + bytes(14))
    assert r.take_panel(1000, True)  # the sync goes out
    assert r.take_panel(1000 + rl.SLOT_MS - 1, True) == 0  # the slot is the devices'
    assert r.take_panel(1000 + rl.SLOT_MS, False) == 0  # a device is still talking
    assert r.take_panel(1000 + rl.SLOT_MS + 1, True)  # then the data frame follows


def test_a_panel_frame_goes_out_in_the_bms_slot_renumbered_with_a_good_checksum():
    r, multi, panel, got = _rig()
    multi.sync(0x30)
    _drain_panel(r)
    read = b"\x00\x52\x30\x04"  # Winmon 0x30: read RAM variable 4 (no control)
    panel.data(ADDR_CONTROLLER, next_frame_no(0x30), read)
    assert got.last == rl.V_QUEUED
    out = bytearray(64)
    n = r.take_multi(out, 0x34)  # the next sync on the Multi side
    assert frame_sum_ok(out, n)
    seen = []
    Decoder(lambda f: seen.append((f.addr, f.frame_no, bytes(f.payload)))).feed(out, 0, n)
    assert seen == [(ADDR_CONTROLLER, 0x35, read)]
    assert r.take_multi(out, 0x36) == 0 and r.relayed[1] == 1


def test_control_frames_go_to_the_arbitration_not_across():
    r, multi, panel, got = _rig()
    multi.sync(0x40)
    _drain_panel(r)
    for payload in (
        b"\x3f\x07\x00\x00\x00",  # switch: on
        b"\x00\x52\x37\x02\x83\x2c\x01",  # WriteViaID
        b"\x00\x52\x0e\x02",  # set device state
    ):
        panel.data(ADDR_CONTROLLER, 0x41, payload)
        assert got.last == rl.V_CONTROL, payload
    panel.data(ADDR_CONTROLLER, 0x41, b"\x00\x52\x0e\x00")  # device state: only asks
    assert got.last == rl.V_QUEUED
    assert r.pending_multi() == 1


def test_a_looped_cable_and_a_device_in_the_wrong_slot_are_refused_and_told_once():
    r, multi, panel, got = _rig()
    multi.sync(0x50)
    _drain_panel(r)  # the panel devices hear the sync
    for _ in range(50):  # the Multi's own frames coming back on the panel side
        panel.sync(0x50)
        panel.data(ADDR_MULTI, 0x51, b"\xe4" + bytes(14))
    assert got.count[rl.V_LOOP] == 100
    assert r.news() == 1 << rl.V_LOOP
    panel.data(ADDR_CONTROLLER, 0x51, b"\x00\x52\x30\x04")
    panel.sync(0x50)
    assert r.news() == 0  # still the same episode: said once
    assert r.refused[rl.V_LOOP] == 101
    assert r.news() == 0  # a quiet check ends the episode ...
    panel.sync(0x50)
    assert r.news() == 1 << rl.V_LOOP  # ... and a new one is told again


def test_a_looped_cable_stops_the_relaying_until_it_is_gone():
    # The panel cable plugged into the Multi's side: relayed, the Multi's frames would come back
    # to the Multi port as copies (a second sync, frames outside the slot). Nothing crosses while
    # the loop is heard, nor for a second after.
    r = rl.Relay()
    clock = [0]
    multi = _Seg(lambda f: r.from_multi(f, clock[0]))
    panel = _Seg(lambda f: r.from_panel(f, clock[0]))
    multi.sync(0x50)
    assert len(_drain_panel(r)) == 1
    multi.data(ADDR_MULTI, 0x51, b"\xe4" + bytes(14))
    panel.sync(0x50)  # the loop: queued frames are dropped, nothing more is queued
    assert r.looped and r.to_panel.n == 0
    multi.sync(0x52)
    panel.data(ADDR_CONTROLLER, 0x51, b"\x00\x52\x30\x04")
    assert r.to_panel.n == 0 and r.pending_multi() == 0
    clock[0] = 999
    multi.sync(0x54)
    assert r.to_panel.n == 0
    clock[0] = 1000  # a second without a looped frame: relaying again
    multi.sync(0x56)
    assert not r.looped and len(_drain_panel(r, 2000)) == 1
    panel.data(ADDR_CONTROLLER, 0x57, b"\x00\x52\x30\x04")
    assert r.pending_multi() == 1
    panel.data(ADDR_CONTROLLER, 0x60, b"\x00\x52\x30\x04")  # numbered for another slot
    assert r.refused[rl.V_WRONG_SLOT] == 1 and r.pending_multi() == 1


def test_a_flooding_panel_device_is_bounded():
    r, multi, panel, got = _rig()
    multi.sync(0x00)
    _drain_panel(r)
    for _ in range(1000):
        panel.data(ADDR_CONTROLLER, 0x01, b"\x00\x52\x30\x04")
    assert r.pending_multi() == 4
    assert got.count[rl.V_FULL] == 996 and r.refused[rl.V_FULL] == 255
    size = len(r.to_panel.buf)
    for k in range(100):  # the Multi side too: a full panel queue drops, never grows
        multi.sync(k & 0x7F)
    n = r.to_panel.n
    multi.sync(100)
    assert 0 < n < 100 and r.to_panel.n == n and len(r.to_panel.buf) == size
    _drain_panel(r, 1000)
    multi.sync(99)
    _drain_panel(r, 2000)
    long = b"\x00\x52\x30" + bytes(30)  # longer than a slot frame may be
    panel.data(ADDR_CONTROLLER, next_frame_no(99), long)
    assert got.last == rl.V_TOO_LONG


def test_a_saturated_window_waits_whole_for_the_panel_port():
    # vebus.md: 256000 baud 8N1, 25.6 bytes a ms; a sync every 20 ms. The Multi's frames back
    # to back from its sync to the next (the AC info frames of a saturated window), the next
    # sync and the BMS's own frame all wait while the panel port may not send: none is dropped,
    # and they come out whole, in order, over and over (the ring wraps).
    r, multi, _, _ = _rig()
    info = b"\x20" + bytes(range(11, 25))  # a 0x20 AC info payload: a 21-byte frame
    for rounds in range(3):
        wire = [multi.sync(rounds)]
        while sum(len(w) for w in wire) + 21 <= 20 * 256 // 10:
            wire.append(multi.data(ADDR_MULTI, next_frame_no(rounds), info))
        wire.append(multi.sync(rounds + 1))
        buf = bytearray(32)
        n = encode_data(buf, cat.BMS_ADDR, next_frame_no(rounds + 1), b"\x70\x81\x02", 3)
        assert r.own(buf, n) == rl.V_QUEUED
        assert len(wire) >= 25 and r.refused[rl.V_FULL] == 0
        assert _drain_panel(r) == wire + [bytes(buf[:n])]


def test_relaying_allocates_nothing():
    requires_vm()
    r, multi, panel, _ = _rig()
    out = bytearray(64)
    sync = bytearray(16)
    ks = encode_sync(sync, 7, b"\x55\x51\x18\x02")
    data = bytearray(32)
    kd = encode_data(data, ADDR_CONTROLLER, 8, b"\x00\x52\x30\x04")
    sums = [0, 0]
    wire = (multi.dec, sync, ks, panel.dec, data, kd)

    def run():  # few free variables: a closure with more than 5 allocates per call
        mdec, sync, ks, pdec, data, kd = wire
        for k in range(50):
            mdec.feed(sync, 0, ks)
            pdec.feed(data, 0, kd)
            sums[0] += r.take_panel(k * 10, True)
            sums[1] += r.take_multi(out, 7)

    run()
    locked(run)
    assert sums[0] > 0 and sums[1] > 0
    assert alloc_bytes(run) == 0


class _Role:
    """What Panel reads of the bus role: no Multi measured yet (serve() always clear)."""

    multi_present = False
    sync_period = 0
    last_sync = 0
    bms_version = 0

    def __init__(self, relay):
        self.relay = relay

    def controller(self, p, msg, panel, now):
        return False


class _Settings:
    dmc_present = False


def _timed_panel(r, now, present=False):
    """A Panel on a timer-released port (rp2's); present: the Multi's syncs measured, 20 ms
    apart, the last one now (else none yet: serve() always clear)."""
    from firmware.bms.panel import Panel
    from firmware.hw.rs485_timed import TimedRs485

    machine = __import__("machine")
    machine.reset_fakes()
    uart = machine.UART(1, 256000, rxbuf=1024)
    timer = machine.Timer(-1)
    port = TimedRs485(uart, 3, timer)
    uart.de = machine.pins[3]
    role = _Role(r)
    if present:
        role.multi_present = True
        role.sync_period = 20
        role.last_sync = now[0]
    return Panel(role, port, _Settings(), lambda: now[0]), port, uart, timer


def test_the_panel_port_sends_relayed_frames_back_to_back_with_de_held_up_to_a_sync():
    # docs/hardware.md: every byte sent with DE high; on rp2 (a timer drops DE) the relay
    # writes the next frame behind the one on the wire, and after a relayed sync it still
    # leaves the panel devices their slot (relay.py's rules) before the next one
    machine = __import__("machine")
    r, multi, _, _ = _rig()
    now = [1000]
    panel, port, uart, timer = _timed_panel(r, now)
    wire = [multi.data(ADDR_MULTI, 0x40 + i, b"\xe4" + bytes(14)) for i in range(3)]
    wire.append(multi.sync(0x44))
    after = multi.data(ADDR_MULTI, 0x45, b"\xe4" + bytes(14))
    panel.serve(now[0])
    assert uart.take_tx() == b"".join(wire) and uart.lost == 0  # one DE-high run, no gap
    assert port.sending() and len(machine.timers) == 1
    while port.sending():
        timer.fire()
    assert machine.pins[3].value() == 0
    panel.serve(now[0])  # the echo is read; the devices' slot after the sync is still open
    assert uart.take_tx() == b"" and port.quiet()
    now[0] += rl.SLOT_MS
    panel.serve(now[0])
    assert uart.take_tx() == after and uart.lost == 0


def test_a_device_talking_over_our_frames_is_not_taken_for_a_looped_cable():
    # docs/protocol.md ("Between the two ports", inferred): the Multi's frames heard on the
    # panel side mean a looped cable, and relaying stops for a while. A device that talks over
    # a run of ours (a collision) puts its bytes among our echo, which is counted, not
    # compared: the run's tail then reaches the decoder as the bus's. That is ours, heard right
    # after we sent it: not a loop. The same sync heard later (a looped cable) is one.
    r, multi, _, _ = _rig()
    now = [1000]
    panel, port, uart, timer = _timed_panel(r, now, present=True)
    uart.echo = False  # the wire's bytes as the receiver heard them, injected below
    multi.data(ADDR_MULTI, 0x40, b"\xe4" + bytes(14))
    sync = multi.sync(0x41)
    panel.serve(now[0])
    run = uart.take_tx()
    assert run.endswith(sync)
    while port.sending():
        timer.fire()
    uart.inject(bytes(len(sync)) + run)  # a device's 10 bytes first: the sync is left over
    now[0] += 1
    panel.serve(now[0])
    assert port.quiet() and panel.frames == 1 and not r.looped
    now[0] += rl.SLOT_MS + 20
    uart.inject(sync)
    panel.serve(now[0])
    assert r.looped and r.refused[rl.V_LOOP] == 1
