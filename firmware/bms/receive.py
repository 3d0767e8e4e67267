"""The receive side of the BMS's bus role: what it takes from the Multi port (and from controllers
on the Remote panel port). firmware/bms/role.py's BmsRole is a Receiver that also talks.

    rx.feed(buf, n, now)          # bytes from the Multi port (own echo already removed)
    rx.controller(p, msg, panel, now)  # a controller's frame (firmware/bms/panel.py's too)
    rx.tick(now)                  # Multi presence, request timeouts; returns the EV_* bits
    rx.multi_present, rx.multi_version, rx.ac_in, rx.gx_request,  # for core's inputs
    rx.multi_mode (the switch state the Multi reports in its LED frame; 0 = not known)
    rx.dmc_request (with setting dmc_present: requests heard on the Remote panel port)
    rx.slot_open, rx.last_sync, rx.sync_no, rx.sync_period: the last sync, for the slot after it
    rx.probe_pending: the GX's BMS probe, for the next slot
With a relay, every good frame from the Multi goes to it (for the panel side).
Listen mode, the Multi switched off, how long a controller's request holds: docs/firmware.md.
"""

import time

from micropython import const

from firmware.bms.version import WINMON_ID, VersionQuery
from vebus import ADDR_MULTI, Decoder
from vebus import catalogue as cat

PRESENT_MS = const(1000)  # no sync for 1 s = the Multi is absent (docs/protocol.md)
# A sync's copy closer than this is a looped cable's (no slot); also role.py's wake-up margin.
SYNC_GUARD_MS = const(6)  # the period is measured from read times: +-2 ms each, and jitter
_REPORT_SETTLE_MS = const(2500)  # after a switch frame: LED frames (1 s apart) catch up
# Another controller's switch request holds until it changes, or until the controller stays silent
# for this long: three of its repeat periods, so one or two lost repeats (1-2 % of frames go
# unanswered on a real bus) never drop it.
REQUEST_HOLD_MS = 3 * cat.SWITCH_REPEAT_MS
_LED_MAINS = const(0x01)  # bit 0 of the LEDs-on mask: mains (AC in)

# Event bits returned by tick().
EV_MULTI_PRESENT = const(0x01)
EV_MULTI_ABSENT = const(0x02)
EV_VERSION = const(0x04)
EV_PROBE = const(0x08)
EV_REQUEST = const(0x10)
EV_REQUEST_DROPPED = const(0x20)


class Receiver:
    def __init__(self, settings, relay=None):
        self.decoder = Decoder(self._on_frame)
        self.relay = relay
        if relay is None:
            # Frames nothing here reads are only counted (a callback is most of a frame's cost
            # on a board: 50 AC info frames a second, a full window of them at times); the slot
            # still closes on them (_sync_count). A relay needs every frame.
            self.decoder.skip(cat.MSG_AC_INFO)
            self.decoder.skip(cat.MSG_CONDITION)
        self._sync_count = 0  # decoder.counts[OK] right after the last sync
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
        self._switch_sent = False  # the transmit side sent a switch frame, at _switch_sent_at
        self._switch_sent_at = 0
        self.battery_low = False
        self.gx_request = 0  # codes.MODE_* asked by another controller (0 = none)
        self._request_at = 0
        # With a DMC fitted, switch requests heard on the Remote panel port are the DMC's; a GX
        # then sits on the Multi port (the manual), so its requests stay gx_request (ignored).
        self.dmc = settings.dmc_present
        self.dmc_request = 0
        self._dmc_at = 0
        self.last_request = 0
        self.probe_pending = False
        self._events = 0
        # counters
        self.syncs = 0
        self.frames = 0
        self.probes = 0

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
            if msg == cat.MSG_WINMON and plen >= 5 and p[1] == WINMON_ID:
                if self.version.reply(p):
                    self.version_full = self.version.full
                    self.multi_version = self.version.last3
                    self._events |= EV_VERSION
            elif msg == cat.MSG_LED and plen >= cat.LED_LEN:
                self.ac_in = cat.get(p, cat.LED_ON) & _LED_MAINS != 0
                self.battery_low = cat.get(p, cat.LED_STATUS) == cat.LED_STATUS_BATTERY_LOW
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

    def tick(self, now):
        """Presence and request timeouts; returns (and clears) the EV_* bits since last call."""
        self._now = now
        if self.multi_present and time.ticks_diff(now, self.last_sync) > PRESENT_MS:
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
