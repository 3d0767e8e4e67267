"""The devices on the BMS's Remote panel port (system.panel), as nodes on the panel segment.

They hear only that segment (the manual's two VE.Bus ports, 3.5 and 3.6): the
Multi's syncs and frames reach them only as the BMS passes them on, and what they send reaches
the Multi only through the BMS. Each behaves as a VE.Bus controller does (docs/protocol.md, the
sync frame): it sends one data frame right after a sync it heard, numbered for that sync, and
only if no other controller on the segment took that slot; with no sync heard it waits.
Built from the manual and docs/protocol.md's confirmed facts, never from the firmware's choices:

- GX device (PanelGx): probes for the BMS every few seconds until a V2 answers, shows the BMS's
  status frames (/Bms/AllowToCharge ..., DVCC: tools/sim/gx.py), sends the scenario's
  `gx_command` as switch frames repeated every `catalogue.SWITCH_REPEAT_MS` (inferred), and
  polls the Multi as its MK3 does: a Winmon RAM read (0x30) with Venus OS's message id, the next
  as soon as the reply is in, the same again after POLL_RETRY_S without one (1-2 % of commands
  go unanswered on a real bus). That keeps one command of the GX on the bus at all times: the
  busiest a GX makes it.
- VE.Bus Smart dongle: a GX without DVCC (its flags do not limit any charger), `dongle_command`.
- Digital Multi Control (PanelDmc): its switch position (`dmc_switch`, on by default) as a switch
  frame once a second.
- Bad input (`panel_fault`): "flood" is a device that sends a Winmon read every FLOOD_EVERY_S
  whatever the slots (the panel wire full); "loop" (tools/sim/runner.py) joins the panel segment
  to the Multi's: the Remote panel cable plugged into the Multi's side of the bus.
"""

from typing import Any

from tools.sim.wire import CODE_OF, GX_RESEND_S, _Node, read_bms
from vebus import ADDR_CONTROLLER, ADDR_MULTI, peers
from vebus import catalogue as cat

AFTER_SYNC_S = 0.0002  # a controller starts right after the sync's last byte
POLL_ID = 0xE4  # the Winmon message id Venus OS uses (docs/protocol.md)
POLL_RAM_VAR = 0x04  # which RAM variable it reads does not matter to the bus
POLL_RETRY_S = 0.1
DMC_EVERY_S = 1.0
FLOOD_EVERY_S = 0.0005  # a 10-byte frame every 0.5 ms: the wire (39 us a byte) 80 % busy


class PanelNode(_Node):
    """A controller on the panel segment: queued payloads go out one per sync, in its slot."""

    def __init__(self, segment, name):
        super().__init__(segment)
        self.name = name
        self.last_sync = -1
        self.sync_at = -1.0  # when the last sync was heard (a slot is known by it)
        self.queue = []  # (payload bytes, kind)
        self.last_slot = -1
        self.on_change: Any = None

    def _others_waiting(self):
        return any(
            p is not self and isinstance(p, PanelNode) and p.queue for p in self.segment.ports
        )

    def start(self, loop):
        self.loop = loop
        loop.call_at(0.5, self.tick)

    def tick(self):
        """Once a second: what the device wants said (subclasses)."""
        self.loop.call_at(self.loop.time() + 1.0, self.tick)

    def want(self, plen, kind):
        """Queue the payload in self.pay for the next free slot; it replaces a queued payload of
        the same kind (one of each kind waits at a time)."""
        item = (bytes(self.pay[:plen]), kind)
        for i, (_p, k) in enumerate(self.queue):
            if k == kind:
                self.queue[i] = item
                return
        self.queue.append(item)

    def frame(self, f):
        now = self.loop.time()
        if f.is_sync():
            self.last_sync = f.frame_no
            self.sync_at = now
            if self.queue:
                self.loop.call_at(now + AFTER_SYNC_S, self._slot, f.frame_no)
            return
        self.hear(f, now)

    def _slot(self, n):
        seg = self.segment
        if not self.queue or self.last_sync != n or seg.slot_taken == self.sync_at:
            return  # a newer sync came, or another controller has this slot
        if self.last_slot == ((n - 1) & 0x7F) and self._others_waiting():
            return  # it had the last slot: the next one is another controller's (no collision)
        seg.slot_taken = self.sync_at
        self.last_slot = n
        payload, kind = self.queue.pop(0)
        k = len(payload)
        self.pay[:k] = payload
        self.send_data(ADDR_CONTROLLER, (n + 1) & 0x7F, k, kind)
        self.sent_frame(kind, self.loop.time())

    def hear(self, f, now):
        pass

    def sent_frame(self, kind, now):
        pass


class PanelGx(PanelNode):
    """A GX device (dvcc) or a VE.Bus Smart dongle on the Remote panel port."""

    def __init__(self, segment, name, gx):
        super().__init__(segment, name)
        self.gx = gx
        self.sent_command = None
        self.next_command = 0.0
        self.poll_at = None  # when the outstanding poll went out (None: none out)
        self.polls = 0
        self.replies = 0

    def start(self, loop):
        super().start(loop)
        self._poll()

    def tick(self):
        now = self.loop.time()
        gx = self.gx
        if gx.want_probe(now):
            self.want(peers.build_probe(self.pay, cat.PROBE_BMS), "bms_probe")
        cmd = gx.command
        if cmd is not None and (cmd != self.sent_command or now >= self.next_command):
            self.sent_command = cmd
            self.next_command = now + GX_RESEND_S
            self.want(cat.build_switch(self.pay, CODE_OF[cmd]), "switch")
        super().tick()

    def _poll(self):
        plen = cat.build_winmon(self.pay, POLL_ID, 0x30, bytes((POLL_RAM_VAR,)))
        self.want(plen, "winmon")

    def sent_frame(self, kind, now):
        if kind == "winmon":
            self.polls += 1
            self.poll_at = now
            self.loop.call_at(now + POLL_RETRY_S, self._retry, self.polls)

    def _retry(self, nth):
        if self.poll_at is not None and self.polls == nth:  # still unanswered
            self.poll_at = None
            self._poll()

    def hear(self, f, now):
        p = f.payload
        if f.addr == ADDR_MULTI:
            if f.msg == cat.MSG_WINMON and len(p) >= 3 and p[1] == POLL_ID:
                if self.poll_at is not None:
                    self.poll_at = None
                    self.replies += 1
                    self._poll()
            return
        if read_bms(self.gx, f, now) and self.on_change is not None:
            self.on_change()


class PanelDmc(PanelNode):
    def __init__(self, segment):
        super().__init__(segment, "dmc")
        self.position = "on"

    def tick(self):
        self.want(cat.build_switch(self.pay, CODE_OF[self.position]), "dmc_switch")
        self.loop.call_at(self.loop.time() + DMC_EVERY_S, self.tick)


class Flooder(PanelNode):
    """A panel device gone wrong: a Winmon read every FLOOD_EVERY_S, slot or not."""

    def __init__(self, segment):
        super().__init__(segment, "flood")
        self.active = False

    def start(self, loop):
        self.loop = loop

    def set(self, active):
        if active and not self.active:
            self.loop.call_soon(self._send)
        self.active = active

    def _send(self):
        if not self.active:
            return
        plen = cat.build_winmon(self.pay, 0x60, 0x30, bytes((POLL_RAM_VAR,)))
        self.send_data(ADDR_CONTROLLER, (self.last_sync + 1) & 0x7F, plen, "winmon")
        self.loop.call_at(self.loop.time() + FLOOD_EVERY_S, self._send)
