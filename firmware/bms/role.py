"""The BMS on VE.Bus: follow the Multi's syncs, talk only in the slot after one, say what it must.

    role = BmsRole(settings, relay=None)  # relay: firmware/bms/relay.Relay with a panel port
    role.feed, role.controller, role.tick, role.multi_present, ...: the receive side, what the
        Multi port tells it (firmware/bms/receive.py)
    role.set_protection(out)        # core Protection outputs: mode, allow flags, error, low power
    n = role.take(now, txbuf, quiet)  # a frame for this slot (0: nothing); quiet = bus idle
    role.poll_ms(now, base), role.sleep_ms(now, longest)  # when the bus task must read again
With a relay, the panel's frames it holds take the slot after the BMS's probe answer and switch
frames (below).

The slot (docs/protocol.md, confirmed): every 20 ms the master Multi sends a sync `83 83 FD N ...`;
a node may send one data frame numbered (N + 1) & 0x7F right after the sync's FF, or a few ms later
only if the bus stayed quiet. So `take()` answers only while: a sync was the last frame seen, it
ended at most SLOT_MS ago, no byte of another frame has arrived since (`quiet` from the RS485
driver and the decoder), and vebus_mode is "bms". One frame per sync, in this order of priority:
  1. the answer to the GX's BMS probe (as a V2: bms_version >= 1146100)        INFERRED on the bus
  2. a switch frame (0x3F) while protection restricts the Multi (sleep, charger-only, ...),
     repeated each _SWITCH_REPEAT_MS; "on" said _RELEASE_REPEATS times when the restriction ends
  3. a frame from the Remote panel port (firmware/bms/relay.py), renumbered      INFERRED
     -- but after one of those, the version query or the status when due: relayed traffic
     never holds the BMS's own frames back by more than one sync
  4. the Multi firmware version query, Winmon 0x05 / 0x06, until both parts are in: every second
     for version.FAST_TRIES rounds, then every version.SLOW_MS                       CONFIRMED
  5. the BMS status (allow charge / discharge, pre-alarm, error, charge rate) at
     status_interval_ms, status_interval_low_power_ms in low-power mode       INFERRED
Firmware version: firmware/bms/version.py (Winmon 0x05 / 0x06); multi_version 0 = not known yet.
Nothing here allocates per frame: payload and frame buffers are made once.
"""

import time

from micropython import const

# EV_*, REQUEST_HOLD_MS, SYNC_GUARD_MS: the role's interface (firmware/app.py takes them from here)
from firmware.bms.receive import (  # noqa: F401
    EV_MULTI_ABSENT,
    EV_MULTI_PRESENT,
    EV_PROBE,
    EV_REQUEST,
    EV_REQUEST_DROPPED,
    EV_VERSION,
    PRESENT_MS,
    REQUEST_HOLD_MS,
    SYNC_GUARD_MS,
    Receiver,
)
from vebus import catalogue as cat
from vebus import encode_data, max_encoded_len, next_frame_no

SLOT_MS = const(3)  # how late after the sync's FF a frame may still go out (bus quiet)
# The bus task sleeps until SYNC_GUARD_MS before the next sync is due (the Multi syncs at a
# steady period), then polls: a read right after the sync keeps the slot. Never longer than
# POLL_MAX_MS between reads (the RS485 receive buffer holds 40 ms of traffic).
POLL_MAX_MS = const(30)
# A sync is read 0-2 ms after it arrives: due without slack, the status would wait a whole sync
# period whenever this read came 1 ms earlier after its sync than the last one.
_STATUS_SLACK_MS = const(10)
_SWITCH_REPEAT_MS = const(1000)
_RELEASE_REPEATS = const(3)

# What went out in a slot (last_tx).
TX_NONE = const(0)
TX_PROBE_ANSWER = const(1)
TX_SWITCH = const(2)
TX_VERSION = const(3)
TX_STATUS = const(4)
TX_RELAY = const(5)
TX_NAMES = ("none", "probe answer", "switch", "version query", "status", "relayed")

_PAYLOAD = const(32)


class BmsRole(Receiver):
    def __init__(self, settings, relay=None):
        Receiver.__init__(self, settings, relay)  # (super() would cost a closure)
        self.transmit = settings.vebus_mode == "bms"
        self.bms_version = settings.bms_version
        self.status_ms = settings.status_interval_ms
        self.status_low_power_ms = settings.status_interval_low_power_ms
        self.payload = bytearray(_PAYLOAD)
        self.frame = bytearray(max_encoded_len(_PAYLOAD))
        # what protection wants said
        self.mode = 0
        self.allow_charge = False
        self.allow_discharge = False
        self.pre_alarm = False
        self.error = 0
        self.charge_rate = 0
        self.low_power = False
        # scheduling
        self._mode_sent = cat.SWITCH_ON  # nothing to say while protection lets the Multi run
        self._release_left = 0
        self._switch_at = 0
        self._status_at = 0
        self._started = False
        self.last_tx = TX_NONE
        self.slots_missed = 0
        self.sent = bytearray(len(TX_NAMES))  # frames sent per TX_* kind, saturating at 255

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
            d = PRESENT_MS // 2 - time.ticks_diff(now, self.last_sync)
        else:
            d = PRESENT_MS
        if not self.transmit:
            return d
        m = self.mode
        if not self._started or self.probe_pending or (m and m != self._mode_sent):
            return 0
        if m and (m != cat.SWITCH_ON or self._release_left > 0):
            t = _SWITCH_REPEAT_MS - time.ticks_diff(now, self._switch_at)
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
            self._status_at = self._now  # a change goes out in the next slot, not at the interval
        self.allow_charge = ac
        self.allow_discharge = ad
        self.pre_alarm = pa
        self.error = out.error
        self.charge_rate = out.charge_rate
        self.low_power = bool(out.low_power)

    # ---- transmit ----
    def slot_ready(self, now, quiet):
        """True while a frame may go out now: right after a sync, bus quiet, mode "bms"."""
        if not self.slot_open:
            return False
        if not self.transmit or self.decoder.counts[0] != self._sync_count:
            self.slot_open = False  # listening only, or another frame followed the sync
            return False
        if not quiet or self.decoder.pending() or time.ticks_diff(now, self.last_sync) > SLOT_MS:
            self.slot_open = False
            if self._due_in(now, False) <= 0:
                self.slots_missed += 1  # a frame was due (a sync read late after a sleep is not)
            return False
        return True

    def _switch_due(self, now):
        """Restrictive modes (off, charger-only, inverter-only) are said and repeated; "on" is
        said _RELEASE_REPEATS times after a restriction, then the Multi is left alone."""
        m = self.mode
        if not m:
            return False
        if m != self._mode_sent:
            return True
        if time.ticks_diff(now, self._switch_at) < _SWITCH_REPEAT_MS:
            return False
        return m != cat.SWITCH_ON or self._release_left > 0

    def take(self, now, out, quiet):
        """Encode this slot's frame into out; returns its length (0: nothing to send now)."""
        if not self.slot_ready(now, quiet):
            return 0
        if not self._started:  # the schedule starts at the first slot: everything is due
            self._started = True
            self.version.at = now
            self._status_at = now
            self._switch_at = time.ticks_add(now, -_SWITCH_REPEAT_MS)
        p = self.payload
        kind = TX_NONE
        plen = 0
        ver = not self.multi_version and self.version.due(now)
        status = time.ticks_diff(now, self._status_at) >= 0
        own = ver or status
        r = self.relay
        if self.probe_pending:
            plen = cat.build_probe_answer(p, self.bms_version)
            self.probe_pending = False
            kind = TX_PROBE_ANSWER
        elif self._switch_due(now):
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
            kind = TX_SWITCH
        elif r is not None and r.pending_multi() and (self.last_tx != TX_RELAY or not own):
            kind = TX_RELAY
        elif ver:
            plen = self.version.build(p, now)
            kind = TX_VERSION
        elif status:
            rate = self.charge_rate * 255 // 100
            plen = cat.build_bms_status(
                p,
                self.allow_charge,
                self.allow_discharge,
                self.pre_alarm,
                self.error != 0,
                rate,
                self.error,
            )
            interval = self.status_low_power_ms if self.low_power else self.status_ms
            self._status_at = time.ticks_add(now, interval - _STATUS_SLACK_MS)
            kind = TX_STATUS
        if kind == TX_NONE:
            self.slot_open = False  # nothing due: this slot is not ours to use
            return 0
        self.slot_open = False
        self.last_tx = kind
        if self.sent[kind] < 255:
            self.sent[kind] += 1
        if kind == TX_RELAY:
            return r.take_multi(out, self.sync_no)  # pyright: ignore[reportOptionalMemberAccess]
        return encode_data(out, cat.BMS_ADDR, next_frame_no(self.sync_no), p, plen)
