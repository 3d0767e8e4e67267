"""The simulated devices' bytes: the Multi(s) and a GX beside them on the Multi's VE.Bus segment.

Frames are built and read with lib/vebus (codec, stream decoder, message catalogue) -- the same
code the firmware uses, so what is INFERRED about the BMS's frames stays in one catalogue module.

MultiNode (the master, and the slaves of a parallel / three-phase system): every sync period the
master sends a sync frame numbered N; the slot right after it belongs to the BMS (what the
firmware writes goes on the wire as it writes it: tools/sim/bus.py). `SLOT_S` later come each
Multi's 0xE4 (AC phase info, DC voltage), Winmon replies, and once a second 0x41 (LEDs) and 0x80
(charger/inverter condition), all numbered N + 1. It reads the BMS's status frames, switch frames
and Winmon commands; a data frame whose number is not (last sync + 1) is ignored, as the Multi
does.

GxNode: a GX on the Multi's segment (system.panel without "gx"): probes for the BMS every few
seconds until a V2 answers, shows the status frames it hears, and sends the scenario's
`gx_command` as switch frames. Its own polling of the Multi is not modelled there: on one wire the
BMS and the GX's interface would compete for the slot after each sync, and the simulator has no
collisions. The devices of the Remote panel port are tools/sim/panel.py.
"""

from typing import Any

from vebus import ADDR_CONTROLLER, ADDR_MULTI, REASONS, Decoder, encode_data, encode_sync, peers
from vebus import catalogue as cat

SWITCH_OF = {
    cat.SWITCH_SLEEP: "off",
    cat.SWITCH_CHARGER_ONLY: "charger_only",
    cat.SWITCH_INVERTER_ONLY: "inverter_only",
    cat.SWITCH_ON: "on",
}
CODE_OF = {v: k for k, v in SWITCH_OF.items()}
SLOW_EVERY_S = 1.0  # 0x41 and 0x80
SLOT_S = 0.005  # the BMS's slot after the sync; the Multi's own frames follow it
GX_TICK_S = 1.0
GX_RESEND_S = cat.SWITCH_REPEAT_MS / 1000  # a GX repeats its switch command (inferred)


def _count(d, key):
    d[key] = d.get(key, 0) + 1


def _kind(f):
    """A short name for a decoded frame's type (for the summary)."""
    if f.is_sync():
        return "sync"
    p = f.payload
    n = len(p)
    if peers.is_bms_status(p, n):
        return "bms_status"
    if peers.answer_version(p, n) >= 0:
        return "bms_probe_answer"
    if cat.probe_kind(p, n) >= 0:
        return "bms_probe"
    return {
        cat.MSG_WINMON: "winmon",
        cat.MSG_SWITCH: "switch",
        cat.MSG_LED: "led",
        cat.MSG_CONDITION: "condition",
        cat.MSG_AC_INFO: "ac_info",
    }.get(f.msg, "0x%02x" % f.msg)


class _Node:
    def __init__(self, segment):
        self.segment = segment
        self.buf = bytearray(96)
        self.pay = bytearray(32)
        self.sent = {}
        self.heard = {}
        self.rejects = {}
        self.dec = Decoder(self._on_frame, self._on_reject)
        self.loop = None

    def receive(self, data):
        self.dec.feed(data)

    def _on_reject(self, reason, raw):
        _count(self.rejects, REASONS[reason])

    def _on_frame(self, f):
        _count(self.heard, _kind(f))
        self.frame(f)

    def frame(self, f):
        pass

    def send_data(self, addr, frame_no, plen, kind):
        n = encode_data(self.buf, addr, frame_no, self.pay, plen)
        _count(self.sent, kind)
        self.segment.send(self, bytes(self.buf[:n]))


class MultiNode(_Node):
    def __init__(self, segment, multis, sync_ms):
        super().__init__(segment)
        self.multis = multis
        self.master = multis[0]
        self.period = sync_ms / 1000.0
        self.n = 0  # number of the last sync sent
        self.next_sync = 0.0  # when the next sync is due (the Multi keeps its own time)
        self.next_slow = 0.0
        self.replies = []  # Winmon replies waiting for the next slot
        self.ignored_frame_no = 0
        self.ignore_switch_from: Any = None  # a GX node when a DMC is fitted
        self.ignored_switches = 0
        self.switch_log = []  # (t, command) each time the switch command heard changes
        self.cache = {}  # encoded frames by content: the same sync / 0xE4 repeats all day
        self.on_change: Any = None  # called when what a Multi decides may have changed
        self.dc_volts: Any = lambda: 12.8  # the world the Multi measures; set by the runner
        self.dc_amps: Any = lambda: 0.0

    def start(self, loop):
        self.loop = loop
        self.next_sync = self.period
        loop.call_at(self.period, self.tick)

    def tick(self):
        loop = self.loop
        now = loop.time()
        if self.master.present:
            self.n = n = (self.n + 1) & 0x7F
            self.send_cached(("sync", n), "sync")
            loop.call_at(now + SLOT_S, self.after_slot)
        # The Multi keeps its own time: a BMS light-sleeping (nothing runs meanwhile in virtual
        # time) delays this call, never the syncs after it.
        self.next_sync += self.period
        if self.next_sync <= now:
            self.next_sync = now + self.period
        loop.call_at(self.next_sync, self.tick)

    def after_slot(self):
        """The BMS's slot is over: the Multi's own frames follow it."""
        now = self.loop.time()
        m = self.master
        if m.present:
            nn = (self.n + 1) & 0x7F
            v50 = int(self.dc_volts() * 50) & 0xFFF
            for i, mm in enumerate(self.multis):
                if mm.present:
                    self.send_cached(("ac_info", nn, v50, i), "ac_info")
            while self.replies:
                payload = self.replies.pop(0)
                self.pay[: len(payload)] = payload
                self.send_data(ADDR_MULTI, nn, len(payload), "winmon")
            if now >= self.next_slow:
                self.next_slow = now + SLOW_EVERY_S
                mode = m.mode(now)
                status = peers.LED_STATUS_BATTERY_LOW if not m.bms.allow_discharge else 0
                sw = peers.switch_register(CODE_OF.get(m.switch_state(), cat.SWITCH_ON))
                mains = 0x01 if m.reports_ac(now) else 0x00
                plen = peers.build_led(self.pay, mains, 0, status, 50, 500, 160, sw)
                self.send_data(ADDR_MULTI, nn, plen, "led")
                invert_ok = mode in ("on", "inverter_only")
                plen = peers.build_condition(self.pay, invert_ok, int(self.dc_amps() * 10))
                self.send_data(ADDR_MULTI, nn, plen, "condition")

    def send_cached(self, key, kind):
        data = self.cache.get(key)
        if data is None:
            if len(self.cache) > 4096:
                self.cache.clear()
            if kind == "sync":
                # The sync's timestamp field (meaning unknown) follows the frame number here.
                plen = peers.build_sync(self.pay, 0x00, (key[1] * 222) & 0xFFFF)
                k = encode_sync(self.buf, key[1], self.pay, plen)
            else:
                _kind_, nn, v50, phase = key
                plen = peers.build_ac_info(self.pay, 50000, v50, phase=phase)
                k = encode_data(self.buf, ADDR_MULTI, nn, self.pay, plen)
            data = self.cache[key] = bytes(self.buf[:k])
        _count(self.sent, kind)
        self.segment.send(self, data)

    def frame(self, f):
        if f.addr != ADDR_CONTROLLER or f.is_sync():
            return
        if not self.master.present:
            return
        if f.frame_no != ((self.n + 1) & 0x7F):
            self.ignored_frame_no += 1
            return
        now = self.loop.time()
        p = f.payload
        plen = len(p)
        if peers.is_bms_status(p, plen):
            flags = cat.get(p, cat.STATUS_FLAGS)
            rate = cat.get(p, cat.STATUS_RATE)
            allow_c = not flags & cat.STATUS_HIGH_CELL
            allow_d = not flags & cat.STATUS_LOW_CELL
            err = cat.get(p, cat.STATUS_CODE) if flags & cat.STATUS_ERROR else 0
            pre = bool(flags & cat.STATUS_PRE_ALARM)
            changed = False
            for m in self.multis:
                if m.present:
                    changed |= m.heard_bms(now, allow_c, allow_d, pre, err, rate)
            if changed and self.on_change is not None:
                self.on_change()
        elif f.msg == cat.MSG_SWITCH and plen >= 2:
            if self.segment.sender is self.ignore_switch_from:
                # With a DMC fitted only the DMC (through the BMS) controls the Multi (manual).
                self.ignored_switches += 1
                return
            cmd = SWITCH_OF.get(p[1])
            if cmd is not None:
                if not self.switch_log or self.switch_log[-1][1] != cmd:
                    self.switch_log.append((round(now, 3), cmd))
                changed = False
                for m in self.multis:
                    if m.present:
                        changed |= m.heard_switch(cmd)
                if changed and self.on_change is not None:
                    self.on_change()
        elif f.msg == cat.MSG_WINMON and plen >= 3:
            self.replies.append(self.master.winmon_reply(bytes(p)))


class GxNode(_Node):
    def __init__(self, segment, gx):
        super().__init__(segment)
        self.gx = gx
        self.last_sync = -1
        self.sent_command = None
        self.next_command = 0.0
        self.on_change: Any = None

    def start(self, loop):
        self.loop = loop
        loop.call_at(0.5, self.tick)

    def tick(self):
        loop = self.loop
        now = loop.time()
        gx = self.gx
        no = (self.last_sync + 1) & 0x7F
        if gx.want_probe(now):
            plen = peers.build_probe(self.pay, cat.PROBE_BMS)
            self.send_data(ADDR_CONTROLLER, no, plen, "bms_probe")
        cmd = gx.command
        if cmd is not None and (cmd != self.sent_command or now >= self.next_command):
            self.sent_command = cmd
            self.next_command = now + GX_RESEND_S
            plen = cat.build_switch(self.pay, CODE_OF[cmd])
            self.send_data(ADDR_CONTROLLER, no, plen, "switch")
        loop.call_at(now + GX_TICK_S, self.tick)

    def frame(self, f):
        if f.is_sync():
            self.last_sync = f.frame_no
        elif read_bms(self.gx, f, self.loop.time()) and self.on_change is not None:
            self.on_change()


def read_bms(gx, f, now):
    """What a GX (or a dongle) reads from a frame: the probe answer, the BMS's status frames.
    True when what it shows changed."""
    p = f.payload
    plen = len(p)
    v = peers.answer_version(p, plen)
    if v >= 0:
        gx.heard_probe_answer(now, v)
    elif peers.is_bms_status(p, plen):
        flags = cat.get(p, cat.STATUS_FLAGS)
        return gx.heard_bms(
            now,
            not flags & cat.STATUS_HIGH_CELL,
            not flags & cat.STATUS_LOW_CELL,
            bool(flags & cat.STATUS_PRE_ALARM),
            cat.get(p, cat.STATUS_CODE) if flags & cat.STATUS_ERROR else 0,
        )
    return False


def frame_counts(nodes):
    """{"sent_by_NAME": {kind: n}, "heard_by_NAME": {...}} for each (name, node)."""
    out = {}
    for name, node in nodes:
        out["sent_by_" + name] = dict(node.sent)
        out["heard_by_" + name] = dict(node.heard)
    return out


def reject_counts(nodes):
    out = {}
    for _name, node in nodes:
        for k, v in node.rejects.items():
            out[k] = out.get(k, 0) + v
    return out
