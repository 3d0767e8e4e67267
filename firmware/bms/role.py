"""The BMS on VE.Bus: follow the Multi's syncs, talk only in the slot after one, say what it must.

    role = BmsRole(settings, relay=None)  # relay: firmware/bms/relay.Relay with a panel port
    role.feed(buf, n, now)          # bytes from the Multi port (own echo already removed)
    role.controller(p, msg, panel, now)  # a controller's frame (firmware/bms/panel.py's too)
    role.tick(now)                  # Multi presence; returns the role's event bits (EV_*)
    role.set_protection(out)        # core Protection outputs: mode, allow flags, error, low power
    n = role.take(now, txbuf, quiet)  # a frame for this slot (0: nothing); quiet = bus idle
    role.unsent(now)                # take's frame did not go out: the next slot carries it
    role.multi_present, role.multi_version, role.ac_in, role.gx_request,  # for core's inputs
    role.multi_mode (the switch state the Multi reports in its LED frame; 0 = not known)
    role.dmc_request (with setting dmc_present: requests heard on the Remote panel port)
With a relay, every good frame from the Multi goes to it (for the panel side), and the panel's
frames it holds share the BMS's slots by the order below.

The slot (docs/protocol.md, confirmed): every 20 ms the master Multi sends a sync `83 83 FD N ...`;
a node may send one data frame numbered (N + 1) & 0x7F right after the sync's FF, or a few ms later
only if the bus stayed quiet. So `take()` answers only while: a sync was the last frame seen, it
ended at most SLOT_MS ago, no byte of another frame has arrived since (`quiet` from the RS485
driver and the decoder), and vebus_mode is "bms". One frame per sync, in this order of priority:
  1. a switch frame (0x3F) that restricts the Multi (sleep, charger-only, inverter-only: it
     switches something off), when protection asks for it and each _SWITCH_RESEND_MS while it
     holds: a safety frame, never delayed
  2. a frame from the Remote panel port (firmware/bms/relay.py), renumbered, that already waited
     a slot behind one of the BMS's own frames                                     INFERRED
  3. the answer to the GX's BMS probe (as a V2: bms_version >= 1146100)        INFERRED on the bus
  4. the switch frame "on", said _RELEASE_REPEATS times when a restriction ends
  5. a frame from the Remote panel port -- but after one of those, the version query or the
     status when due
  6. the Multi firmware version query, Winmon 0x05 / 0x06, until both parts are in: every second
     for version.FAST_TRIES rounds, then every version.SLOW_MS                       CONFIRMED
  7. the BMS status (allow charge / discharge, pre-alarm, error, charge rate) at
     status_interval_ms, status_interval_low_power_ms in low-power mode       INFERRED
So relayed traffic never holds the BMS's own frames back by more than one slot, and the BMS's
own frames hold a relayed frame back by one slot at most, safety frames aside.
Listen mode, the Multi switched off, how long a controller's request holds: docs/firmware.md.
Firmware version: firmware/bms/version.py (Winmon 0x05 / 0x06); multi_version 0 = not known yet.
Nothing here allocates per frame: payload and frame buffers are made once.
"""

import time

from micropython import const

from firmware.bms.version import VersionQuery
from vebus import ADDR_MULTI, Decoder, encode_data, max_encoded_len
from vebus import catalogue as cat

_OUR_WINMON_ID = const(0x51)  # firmware/bms/version.py's (tests/host/test_consts.py)
_PRESENT_MS = const(1000)  # no sync for 1 s = the Multi is absent (docs/protocol.md)
SLOT_MS = const(3)  # how late after the sync's FF a frame may still go out (bus quiet)
# The bus task sleeps until SYNC_GUARD_MS before the next sync is due (the Multi syncs at a
# steady period), then polls: a read right after the sync keeps the slot. Never longer than
# POLL_MAX_MS between reads (the RS485 receive buffer holds 40 ms of traffic).
SYNC_GUARD_MS = const(6)  # the period is measured from read times: +-2 ms each, and jitter
POLL_MAX_MS = const(30)
# A sync is read 0-2 ms after it arrives: due without slack, the status would wait a whole sync
# period whenever this read came 1 ms earlier after its sync than the last one.
_STATUS_SLACK_MS = const(10)
_SWITCH_RESEND_MS = const(1000)
_RELEASE_REPEATS = const(3)
_REPORT_SETTLE_MS = const(2500)  # after a switch frame: LED frames (1 s apart) catch up
# Another controller's switch request holds until it changes, or until the controller stays silent
# for this long: three of its repeat periods, so one or two lost repeats (1-2 % of frames go
# unanswered on a real bus) never drop it.
REQUEST_HOLD_MS = 3 * cat.SWITCH_REPEAT_MS
_LED_MAINS = const(0x01)  # bit 0 of the LEDs-on mask: mains (AC in)

# What went out in a slot (last_tx) and event bits returned by tick().
_TX_NONE = const(0)
_TX_PROBE_ANSWER = const(1)
_TX_SWITCH = const(2)
_TX_VERSION = const(3)
_TX_STATUS = const(4)
_TX_RELAY = const(5)

EV_MULTI_PRESENT = const(0x01)
EV_MULTI_ABSENT = const(0x02)
EV_VERSION = const(0x04)
EV_PROBE = const(0x08)
EV_REQUEST = const(0x10)
EV_REQUEST_DROPPED = const(0x20)

_PAYLOAD = const(32)
_ESC = const(0xFA)  # vebus.frame's: a checksum above it goes out as ESC, checksum - ESC
_END = const(0xFF)


class BmsRole:
    def __init__(self, settings, relay=None):
        self.transmit = settings.vebus_mode == "bms"
        self.bms_version = settings.bms_version
        self.status_ms = settings.status_interval_ms
        self.status_low_power_ms = settings.status_interval_low_power_ms
        self.decoder = Decoder(self._on_frame)
        self.relay = relay
        if relay is None:
            # Frames nothing here reads are only counted (a callback is most of a frame's cost
            # on a board: 50 AC info frames a second, a full window of them at times); the slot
            # still closes on them (_sync_count). A relay needs every frame.
            self.decoder.skip(cat.MSG_AC_INFO)
            self.decoder.skip(cat.MSG_CONDITION)
        # The first sync is decoded as fast as the rest (its slot is answered from the IRQ).
        self.decoder.expect(cat.SYNC_LEN)
        self._sync_count = 0  # decoder.counts[OK] right after the last sync
        self.payload = bytearray(_PAYLOAD)
        self.frame = bytearray(max_encoded_len(_PAYLOAD))
        self._now = 0
        # bus state
        self.have_sync = False
        self.sync_no = 0
        self.last_sync = 0
        self.sync_period = 0  # the Multi's sync period as the bus task sees it (ms); 0 = unknown
        self.timed = True  # the caller's read came within SLOT_MS of the one before (not late)
        self._sync_timed = False  # the last sync was read in time: last_sync is its arrival
        self.slot_open = False
        self.multi_present = False
        self.multi_version = 0  # last three digits of the Multi firmware, 0 = unknown
        self.version_full = 0
        self.version = VersionQuery()
        self.ac_in = False
        self.multi_mode = 0  # switch state the Multi reports (SWITCH_* = codes.MODE_*), 0 unknown
        self._switch_sent = False
        self._switch_sent_at = 0
        self.gx_request = 0  # codes.MODE_* asked by another controller (0 = none)
        self._request_at = 0
        # With a DMC fitted, switch requests heard on the Remote panel port are the DMC's; a GX
        # then sits on the Multi port (the manual), so its requests stay gx_request (ignored).
        self.dmc = settings.dmc_present
        self.dmc_request = 0
        self._dmc_at = 0
        self.last_request = 0
        # what protection wants said
        self.mode = 0
        self.allow_charge = False
        self.allow_discharge = False
        self.pre_alarm = False
        self.error = 0
        self.charge_rate = 0
        self.low_power = False
        self._status = bytearray(cat.STATUS_LEN)  # the status frame's payload, and the frame
        self._status_frame = bytearray(max_encoded_len(cat.STATUS_LEN))  # (_build_status)
        self._status_n = 0  # its length; 0 while it is being built
        self._build_status()
        # scheduling
        self.probe_pending = False
        self._mode_sent = cat.SWITCH_ON  # nothing to say while protection lets the Multi run
        self._release_left = 0
        self._switch_at = 0
        self._status_at = 0
        self._events = 0
        self._started = False
        self.last_tx = _TX_NONE
        self._relay_waited = False  # a relayed frame was queued when an own frame took a slot
        # counters
        self.syncs = 0
        self.frames = 0
        self.probes = 0
        self.slots_missed = 0
        self.sent = bytearray(_TX_RELAY + 1)  # frames sent per TX_* kind, saturating at 255

    # ---- receive ----
    def feed(self, buf, n, now):
        """Bytes from the Multi port; frames reach _on_frame through the decoder."""
        self._now = now
        if n:
            self.decoder.feed(buf, 0, n)

    def _on_frame(self, f):
        now = self._now
        self.frames += 1
        if self.relay is not None:
            self.relay.from_multi(f, now)  # a copy for the panel side (nothing sent here)
        if f.is_sync():
            if (
                self.have_sync
                and f.frame_no == self.sync_no
                and time.ticks_diff(now, self.last_sync) < SYNC_GUARD_MS
            ):
                self.slot_open = False  # a copy of the last sync (a looped panel cable): no slot
                return
            self.syncs += 1
            self.sync_no = f.frame_no
            # The period: the shortest interval seen, growing 1 ms a sync to follow a Multi that
            # syncs slower. A lost (corrupted) sync doubles one interval and barely moves it; a
            # sync read late shortens the next interval: both err towards waking early.
            d = time.ticks_diff(now, self.last_sync)
            p = self.sync_period
            if not self.multi_present:
                self.sync_period = 0
            elif d <= 2 * SYNC_GUARD_MS or not (self.timed and self._sync_timed):
                pass  # this sync or the one before read late (after a sleep): no timing
            elif not p or d < p:
                self.sync_period = d
            else:
                self.sync_period = p + 1
            self.last_sync = now
            self._sync_timed = self.timed
            self._sync_count = self.decoder.counts[0]
            self.have_sync = True
            self.slot_open = True
            if not self.multi_present:
                self.multi_present = True
                self._events |= EV_MULTI_PRESENT
            return
        self.slot_open = False  # another frame follows the sync: this slot is taken
        p = f.payload
        plen = len(p)
        msg = f.msg
        if f.addr == ADDR_MULTI:
            if msg == cat.MSG_WINMON and plen >= 5 and p[1] == _OUR_WINMON_ID:
                if self.version.reply(p):
                    self.version_full = self.version.full
                    self.multi_version = self.version.last3
                    self._events |= EV_VERSION
            elif msg == cat.MSG_LED and plen >= cat.LED_LEN:
                self.ac_in = cat.get(p, cat.LED_ON) & _LED_MAINS != 0
                if (
                    not self._switch_sent
                    or time.ticks_diff(now, self._switch_sent_at) > _REPORT_SETTLE_MS
                ):
                    self.multi_mode = cat.switch_state(cat.get(p, cat.LED_SWITCH))
            return
        self.controller(p, msg, False, now)

    def controller(self, p, msg, panel, now):
        """A frame from another controller (GX via its MK3, DMC, ...); panel: on that port.
        True for the GX's BMS probe: answered on the port it came from (the panel's by
        firmware/bms/panel.py)."""
        plen = len(p)
        if cat.probe_kind(p, plen) == cat.PROBE_BMS:
            self.probes += 1
            self.probe_pending = self.probe_pending or not panel
            self._events |= EV_PROBE
            return True
        if msg == cat.MSG_SWITCH and plen >= cat.SWITCH_LEN:
            req = p[1]
            if self.dmc and panel:
                old = self.dmc_request
                self.dmc_request = req
                self._dmc_at = now
            else:
                old = self.gx_request
                self.gx_request = req
                self._request_at = now
            if req != old:  # controllers repeat their request: log a change only
                self.last_request = req
                self._events |= EV_REQUEST
        return False

    # ---- time ----
    def tick(self, now):
        """Presence and request timeouts; returns (and clears) the EV_* bits since last call."""
        self._now = now
        if self.multi_present and time.ticks_diff(now, self.last_sync) > _PRESENT_MS:
            self.multi_present = False
            self.slot_open = False
            self.multi_mode = 0
            self._events |= EV_MULTI_ABSENT
        if self.gx_request and time.ticks_diff(now, self._request_at) > REQUEST_HOLD_MS:
            self.gx_request = 0
            self._events |= EV_REQUEST_DROPPED
        if self.dmc_request and time.ticks_diff(now, self._dmc_at) > REQUEST_HOLD_MS:
            self.dmc_request = 0
            self._events |= EV_REQUEST_DROPPED
        ev = self._events
        self._events = 0
        return ev

    def poll_ms(self, now, base):
        """How long the bus task may sleep after a step at `now`: until SYNC_GUARD_MS before
        the next sync is due, at most POLL_MAX_MS; `base` when no sync period is known."""
        if not self.multi_present or not self.sync_period or not self._sync_timed:
            return base  # (a sync read late says nothing of when the next one comes)
        due = self.sync_period - SYNC_GUARD_MS - time.ticks_diff(now, self.last_sync)
        if due <= base:
            return base
        return due if due < POLL_MAX_MS else POLL_MAX_MS

    def _due_in(self, now, presence=True):
        """Ms from `now` until the next frame needs a sync's slot (<= 0: due now); with
        `presence`, at most until a sync must be read for the presence check (every 500 ms)."""
        if presence:
            d = _PRESENT_MS // 2 - time.ticks_diff(now, self.last_sync)
        else:
            d = _PRESENT_MS
        if not self.transmit:
            return d
        m = self.mode
        if not self._started or self.probe_pending or (m and m != self._mode_sent):
            return 0
        if m and (m != cat.SWITCH_ON or self._release_left > 0):
            t = _SWITCH_RESEND_MS - time.ticks_diff(now, self._switch_at)
            if t < d:
                d = t
        if not self.multi_version:
            t = time.ticks_diff(self.version.at, now)
            if t < d:
                d = t
        t = time.ticks_diff(self._status_at, now)
        return t if t < d else d

    def sleep_ms(self, now, longest):
        """How long the board may light-sleep from `now` (at most `longest`; 0 = stay awake).

        Awake from two sync periods (+ SYNC_GUARD_MS) before the next duty: the bus task then
        reads the syncs around it in time (poll_ms), which also re-measures the period that a
        sleep made unreliable. With the Multi absent, `longest`: no slot to keep."""
        if not self.multi_present:
            return longest
        p = self.sync_period
        if not p or self.slot_open:
            return 0
        ms = self._due_in(now) - 2 * p - SYNC_GUARD_MS
        if ms <= 0:
            return 0
        return ms if ms < longest else longest

    def set_protection(self, out):
        """Take what core's Protection decided (its preallocated Outputs object)."""
        self.mode = out.multi_mode
        ac = bool(out.allow_charge)
        ad = bool(out.allow_discharge)
        pa = bool(out.bat_prealarm)
        if (
            ac != self.allow_charge
            or ad != self.allow_discharge
            or pa != self.pre_alarm
            or out.error != self.error
            or out.charge_rate != self.charge_rate
        ):
            self.allow_charge = ac
            self.allow_discharge = ad
            self.pre_alarm = pa
            self.error = out.error
            self.charge_rate = out.charge_rate
            self._build_status()
            self._status_at = self._now  # a change goes out in the next slot, not at the interval
        self.low_power = bool(out.low_power)

    def _build_status(self):
        """The status frame, encoded when what it says changes (as frame 0: take() numbers it):
        not in the slot, whose frame must be out a fixed time after the sync (SLOT_US in
        firmware/hw/rs485.py; encoding its stuffed 0xFF bytes there cost up to 0.34 ms on the
        emulated Pico). The RX-idle IRQ may take a slot meanwhile: no status in it then."""
        self._status_n = 0
        cat.build_bms_status(
            self._status,
            self.allow_charge,
            self.allow_discharge,
            self.pre_alarm,
            self.error != 0,
            self.charge_rate * 255 // 100,
            self.error,
        )
        self._status_n = encode_data(
            self._status_frame, cat.BMS_ADDR, 0, self._status, cat.STATUS_LEN
        )

    # ---- transmit ----
    def _next(self, now):
        """Which frame this slot carries (TX_*), in the order of the module's docstring.
        (It runs in the slot, between the sync and its frame: no method calls in it.)"""
        # Restrictive modes (off, charger-only, inverter-only) are said and repeated; "on" is
        # said _RELEASE_REPEATS times after a restriction, then the Multi is left alone.
        m = self.mode
        switch = m and (
            m != self._mode_sent
            or time.ticks_diff(now, self._switch_at) >= _SWITCH_RESEND_MS
            and (m != cat.SWITCH_ON or self._release_left > 0)
        )
        if switch and m != cat.SWITCH_ON:
            return _TX_SWITCH  # switching something off: never delayed
        r = self.relay
        relay = r is not None and r.pending_multi() > 0
        if relay and self._relay_waited:
            return _TX_RELAY
        if self.probe_pending:
            return _TX_PROBE_ANSWER
        if switch:
            return _TX_SWITCH
        ver = not self.multi_version and time.ticks_diff(now, self.version.at) >= 0
        status = self._status_n and time.ticks_diff(now, self._status_at) >= 0
        if relay and (self.last_tx != _TX_RELAY or not (ver or status)):
            return _TX_RELAY
        if ver:
            return _TX_VERSION
        return _TX_STATUS if status else _TX_NONE

    def take(self, now, out, quiet):
        """Encode this slot's frame into out; returns its length (0: nothing to send now).

        Only while a frame may go out: right after a sync, bus quiet, mode "bms"."""
        if not self.slot_open:
            return 0
        if not self.transmit or self.decoder.counts[0] != self._sync_count:
            self.slot_open = False  # listening only, or another frame followed the sync
            return 0
        if not quiet or self.decoder.pending() or time.ticks_diff(now, self.last_sync) > SLOT_MS:
            self.slot_open = False
            if self._due_in(now, False) <= 0:
                self.slots_missed += 1  # a frame was due (a sync read late after a sleep is not)
            return 0
        if not self._started:  # the schedule starts at the first slot: everything is due
            self._started = True
            self.version.at = now
            self._status_at = now
            self._switch_at = time.ticks_add(now, -_SWITCH_RESEND_MS)
        p = self.payload
        kind = self._next(now)
        plen = 0
        if kind == _TX_PROBE_ANSWER:
            plen = cat.build_probe_answer(p, self.bms_version)
            self.probe_pending = False
        elif kind == _TX_SWITCH:
            m = self.mode
            if m == cat.SWITCH_ON:
                self._release_left = (
                    _RELEASE_REPEATS if m != self._mode_sent else self._release_left
                )
                self._release_left -= 1
            plen = cat.build_switch(p, m)
            self._mode_sent = m
            self._switch_at = now
            self._switch_sent = True
            self._switch_sent_at = now
            self.multi_mode = 0  # what the Multi reports now may predate this frame
        elif kind == _TX_VERSION:
            plen = self.version.build(p, now)
        elif kind == _TX_STATUS:
            interval = self.status_low_power_ms if self.low_power else self.status_ms
            self._status_at = time.ticks_add(now, interval - _STATUS_SLACK_MS)
        if kind == _TX_NONE:
            self.slot_open = False  # nothing due: this slot is not ours to use
            return 0
        self.slot_open = False
        self.last_tx = kind
        if self.sent[kind] < 255:
            self.sent[kind] += 1
        r = self.relay
        if r is not None:
            # A relayed frame still queued behind this one has waited a slot for it.
            self._relay_waited = kind != _TX_RELAY and r.pending_multi() > 0
            if kind == _TX_RELAY:
                return r.take_multi(out, self.sync_no)
        no = (self.sync_no + 1) & 0x7F  # vebus.next_frame_no, inline
        if kind != _TX_STATUS:
            return encode_data(out, cat.BMS_ADDR, no, p, plen)
        # The status, encoded ahead as frame 0 (one C call copies it): only its number and the
        # checksum change (a checksum is 1 - the sum of the bytes from the type on, so N's is
        # 0's - N), the checksum stuffed as vebus.encode does.
        out[0 : len(self._status_frame)] = self._status_frame
        out[3] = no
        i = self._status_n - 2
        cs = out[i]
        if out[i - 1] == _ESC:  # (a stuffed payload byte is never the last before it)
            i -= 1
            cs += _ESC
        cs = (cs - no) & 0xFF
        if cs > _ESC:
            out[i] = _ESC
            i += 1
            cs -= _ESC
        out[i] = cs
        out[i + 1] = _END
        return i + 2

    def unsent(self, now):
        """The frame take() returned did not go out (the driver found its slot over, or the port
        busy): what it says is due again, so the next slot carries it."""
        kind = self.last_tx
        self.last_tx = _TX_NONE
        if self.sent[kind] < 255:
            self.sent[kind] -= 1
        if kind == _TX_PROBE_ANSWER:
            self.probe_pending = True
        elif kind == _TX_SWITCH:
            self._switch_at = time.ticks_add(now, -_SWITCH_RESEND_MS)
            if self._mode_sent == cat.SWITCH_ON:
                self._release_left += 1
        elif kind == _TX_VERSION:
            self.version.unsent(now)
        elif kind == _TX_STATUS:
            self._status_at = now
        elif kind == _TX_RELAY:  # it has waited a slot now: before the BMS's own (but an off)
            self._relay_waited = True
            self.relay.unsent_multi()  # pyright: ignore[reportOptionalMemberAccess]
