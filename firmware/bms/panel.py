"""The Remote panel port: a GX device, a VE.Bus Smart dongle or a Digital Multi Control.

    panel = Panel(role, port, settings, ticks_ms)  # port: board.ports[1]; role.relay set in "bms"
    panel.serve(now)             # read the port, send what waits for it (only when clear: below)
    panel.set_protection(out)    # core Protection's outputs: the ceiling, remote off
    panel.log_events(now, log)   # the log task: each block, rewrite or refusal, once (EV_*)

What crosses (the relay's rules, firmware/bms/relay.py; INFERRED: docs/protocol.md):
  - every good frame from the Multi side (the role hands each to the relay) and the BMS's own
    frames go out here; a device's data frames go to the Multi side in the BMS's slot;
  - control (switch frames, Winmon writes) goes through core's arbitration (core/control.py,
    manual 3.5 / 3.6): passed as it came, rewritten (a switch frame asking more than protection
    allows becomes a switch frame with what it allows), or dropped. With setting dmc_present a
    switch frame here is the DMC's, a Winmon write a GX's or a dongle's (a DMC only switches);
  - the GX's BMS probe heard here is answered here (numbered for the sync queued last), so the
    GX finds the BMS; its status frames reach the GX with the Multi's frames.
In "listen" nothing is relayed or sent: frames are decoded for the role (probe, requests).

When: serve() does nothing from SYNC_GUARD_MS before the Multi's next sync is due until that
sync is read, or until its slot is past (clear()): decoding takes time, and so does a frame
going out here where its send blocks for the wire time (firmware/hw/rs485.py: not on rp2, where
a timer drops DE and the next frame is written behind the one on the wire), and either would
push the Multi slot's frame later. Except `serve(now, False)` from the Multi port's IRQ while it
decodes a backlog (a saturated window, read only once the line went idle at its end): that
sync's slot is lost to the decoding anyway, and the window's frames go out as they are decoded.
Reads are bounded (_RX_CHUNKS a call): a device flooding this port costs a bounded time per
call, and its bytes are dropped by the UART, never stored here.
"""

import time

from micropython import const

from firmware.bms.relay import V_CONTROL, V_FULL, V_LOOP
from firmware.bms.role import SLOT_MS, SYNC_GUARD_MS
from firmware.core.control import (
    SRC_DMC,
    SRC_GX,
    WHY_DMC,
    WHY_PASSED,
    WHY_REMOTE_OFF,
    panel_control,
)
from vebus import ADDR_MULTI, T_SYNC, Decoder, encode_data, next_frame_no
from vebus import catalogue as cat

# firmware/core/codes.py's numbers (tests/host/test_consts.py keeps the copies equal)
_MODE_NONE = const(0)
_MODE_OFF = const(4)
_ST_REMOTE_OFF = const(6)

# Event codes (after firmware/app.py's; words in firmware/app_texts.py). arg: the request
# (codes.MODE_*, 0 for a Winmon write); EV_PANEL_REWRITTEN: request << 8 | mode sent.
EV_PANEL_REWRITTEN = const(48)
EV_PANEL_PROTECTION = const(49)
EV_PANEL_REMOTE_OFF = const(50)
EV_PANEL_DMC = const(51)
# Refused by the relay, once per episode (arg: how many so far, at most 255; not in the words,
# which must not depend on when the log task ran): EV_RELAY_LOOP +
# verdict - V_LOOP: looped cable, wrong slot, too long, queue full (not told in low-power mode).
EV_RELAY_LOOP = const(52)
EV_RELAY_WRONG_SLOT = const(53)
EV_RELAY_TOO_LONG = const(54)
EV_RELAY_FULL = const(55)

_RX_CHUNKS = const(2)  # chunks read per serve() (2 x 128 bytes: 10 ms of a busy bus)
_NOMINAL_MS = const(16)  # the sync period assumed until one is measured (60 Hz: 16.7 ms)
_FRAME = const(48)  # longest frame sent here (relay.py's _RAW_MAX)
_ECHO_WAITS = const(2)  # character times waited for the end of our echo before the next frame
_CHAR_US = const(40)
_EVENTS = const(4)  # control events waiting for the log task (one a change: a few a second)
_ACTIVE_MS = const(1000)
_NEWS_MS = const(1000)  # the relay's refusals are looked at once a second: an episode is a run
# of seconds each with a refusal, however often the log task comes (it follows the sync cycle)


class Panel:
    def __init__(self, role, port, settings, ticks_ms):
        self.role = role
        self.port = port
        self.relay = role.relay  # None in "listen": nothing crosses
        self.ticks = ticks_ms
        self.dmc = settings.dmc_present
        self.decoder = Decoder(self._on_frame, maxlen=_FRAME)  # longer: not relayable anyway
        self.out = bytearray(_FRAME)
        self.pay = bytearray(cat.ANSWER_LEN)
        self.ceiling = _MODE_OFF  # until protection says more
        self.remote_off = False
        self.low_power = False
        self.frames = 0
        self.heard_at = 0
        self._now = 0
        self._told = [0, 0, 0]  # per SRC_*: the last block / rewrite logged (0: it passed)
        self._ev = bytearray(_EVENTS)  # events waiting for log_events(): codes, args
        self._ev_arg = [0] * _EVENTS
        self._ev_n = 0
        self._news_at = ticks_ms()

    def set_protection(self, out):
        self.ceiling = out.multi_ceiling
        self.remote_off = out.state == _ST_REMOTE_OFF
        self.low_power = out.low_power

    def clear(self, now):
        """True while work here cannot delay the Multi's next slot frame (see "When")."""
        role = self.role
        if not role.multi_present:
            return True
        p = role.sync_period or _NOMINAL_MS
        d = time.ticks_diff(now, role.last_sync)
        if d < p - SYNC_GUARD_MS:
            return True
        # The next sync not read yet: its slot may still be open. Once that is past, the Multi
        # keeps its phase: the same guard before each sync due after it.
        return SLOT_MS < d % p < p - SYNC_GUARD_MS

    def busy(self):
        """Bytes to read or frames to send here."""
        r = self.relay
        return not self.port.quiet() or (r is not None and r.to_panel.n > 0)

    def serve(self, now, guard=True):
        port = self.port
        r = self.relay
        quiet = port.quiet()
        if quiet and (r is None or not r.to_panel.n):
            return  # nothing to read or send (most calls: after each of the Multi's frames)
        self._now = now
        reads = waits = 0
        while not guard or self.clear(now):
            if quiet:  # nothing to read (no echo of ours due, no device's bytes): send
                if r is None or not r.to_panel.n or not self._send_next(port, r, True):
                    return
                if not r.to_panel.n and port.sending():
                    return  # all sent; the RX-idle IRQ after its echo reads the port
            elif port.sending():  # ours on the wire, DE up (rp2): the next go right behind
                # them; no device talks meanwhile, and the echo is read once the line is idle
                if not r.to_panel.n or not self._send_next(port, r, False):
                    return  # the RX-idle IRQ after our echo comes back for the rest
            else:
                n = port.read(now)  # our own echo is consumed first
                if n:
                    self.decoder.feed(port.rx, 0, n)
                    reads += 1
                    if reads == _RX_CHUNKS:
                        return
                elif r is None:
                    return
                elif not port.quiet():  # a device is talking, or our echo is not all back
                    if waits == _ECHO_WAITS:  # yet: its last byte lands a bit time after
                        return  # the transmit done; then the next frame follows at once
                    waits += 1
                    time.sleep_us(_CHAR_US)
                else:
                    waits = 0
            now = self.ticks()
            quiet = port.quiet()

    def idle(self):
        """The RX-idle IRQ of this port: mostly the echo of our last run, with nothing else to
        read or send (then a few calls, not serve()'s loop)."""
        r = self.relay
        if r is not None and not r.to_panel.n and self.port.echo_only():
            return
        self.serve(self.ticks())

    def _send_next(self, port, r, quiet):
        """The relay's next frames out on this port (as many as it takes), if any for now."""
        # the devices' slot after a relayed sync, and the echo's deadline: from when they go
        # out (`now` may be a backlog's start, ms ago)
        now = self.ticks()
        n = r.take_panel(now, quiet, port.free())
        if n:
            port.send(r.to_panel.buf, n, now, r.panel_at)
        return n

    def active(self, now):
        """A device on this port was heard within the last second."""
        return self.frames > 0 and time.ticks_diff(now, self.heard_at) < _ACTIVE_MS

    def _on_frame(self, f):
        self.frames += 1
        now = self.heard_at = self._now
        role = self.role
        p = f.payload
        msg = f.msg
        multi = f.addr == ADDR_MULTI or f.t == T_SYNC
        # the role takes a controller's probe or switch frame (its other frames pass it by)
        if not multi and (msg == cat.MSG_PROBE or msg == cat.MSG_SWITCH):
            if role.controller(p, msg, True, now):
                self._answer_probe()
                return
        if multi and self.port.echo_time(now):
            # Our own frames, right after we sent them: a device talked over a run of ours (a
            # collision), its bytes were counted as our echo and the run's tail is heard as
            # the bus's. Dropped: not a looped cable, which brings the Multi's frames any time.
            return
        r = self.relay
        if r is not None and role.multi_present and r.from_panel(f, now) == V_CONTROL:
            self._control(p, msg, f.addr)

    def _answer_probe(self):
        r = self.relay
        if r is None or r.queued_no < 0:
            return  # listening, or no sync to number it for yet
        plen = cat.build_probe_answer(self.pay, self.role.bms_version)
        n = encode_data(self.out, cat.BMS_ADDR, next_frame_no(r.queued_no), self.pay, plen)
        r.own(self.out, n, True)

    def _control(self, p, msg, addr):
        """Core's arbitration decides; passed or rewritten goes to the Multi side."""
        switch = msg == cat.MSG_SWITCH
        src = SRC_DMC if self.dmc and switch else SRC_GX
        req = p[1] if switch else _MODE_NONE
        res = panel_control(src, req, self.dmc, self.remote_off, self.ceiling)
        mode = res & 0xFF
        why = res >> 8
        if mode:
            if switch and mode != req:
                p = self.pay
                self.relay.queue_multi(p, cat.build_switch(p, mode), addr)  # pyright: ignore
            else:
                self.relay.queue_multi(p, len(p), addr)  # pyright: ignore
        told = self._told
        if why == WHY_PASSED:
            told[src] = 0  # a later block is news again
            return
        key = why << 16 | req << 8 | mode
        if told[src] == key:
            return  # controllers repeat their request: a change only
        told[src] = key
        arg = req
        if why == WHY_DMC:
            code = EV_PANEL_DMC
        elif why == WHY_REMOTE_OFF:
            code = EV_PANEL_REMOTE_OFF
        elif mode:
            code = EV_PANEL_REWRITTEN
            arg = req << 8 | mode
        else:
            code = EV_PANEL_PROTECTION
        k = self._ev_n
        if k < _EVENTS:
            self._ev[k] = code
            self._ev_arg[k] = arg
            self._ev_n = k + 1

    def log_events(self, now, log):
        """Into the event log (the log task): control events as they came; the relay's
        refusals once a second, so refusals in consecutive seconds are one episode, told once."""
        for k in range(self._ev_n):
            log.record(now, self._ev[k], 0, self._ev_arg[k])
        self._ev_n = 0
        r = self.relay
        if r is None or time.ticks_diff(now, self._news_at) < _NEWS_MS:
            return
        self._news_at = now
        bits = r.news()
        if self.low_power:  # the board sleeps between its duties: a full queue is expected
            bits &= ~(1 << V_FULL)
        if bits:
            for v in range(V_LOOP, V_FULL + 1):
                if bits & (1 << v):
                    log.record(now, EV_RELAY_LOOP + v - V_LOOP, 0, r.refused[v])
