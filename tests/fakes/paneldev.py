"""A device on the BMS's Remote panel port (a GX's MK3, a DMC, a VE.Bus Smart dongle), for the
tests: a clock hook (see vclock.py). Never deployed.

It hears what the BMS sends on that port (uart.take_tx()): `kinds` counts its frames by payload
type (0x55: syncs), `heard` keeps the last `keep` of the rarer ones (not the syncs, not the AC
info frames 50 times a second) as (tick, N, payload). In the slot after each sync it hears it
sends the next payload of `queue`, numbered N + 1 as a node on the Multi's own segment would
(`offset` 1; another offset: a device answering in the wrong slot; `flip`: the next one goes out
with one bit wrong, its checksum no longer adding up). `flood` = (payload, copies): that many
copies at every tick, numbered for the last sync heard. `loop` sends back everything the BMS
sent (a looped cable).
"""

from vebus import ADDR_CONTROLLER, T_SYNC, Decoder, encode_data, peers
from vebus import catalogue as cat

KEEP = 16


class PanelDevice:
    def __init__(self, uart, addr=ADDR_CONTROLLER, keep=KEEP):
        self.uart = uart
        uart.take_tx()  # listening from now on
        self.addr = addr
        self.keep = keep
        self.dec = Decoder(self._on, strict=False)
        self.heard = []
        self.kinds = {}
        self.syncs = 0
        self.frames = 0
        self.answers = []  # the BMS version of each probe answer heard
        self.status = None  # (flags, rate) of the last BMS status frame heard (inferred layout)
        self.statuses = 0
        self.queue = []  # payloads to send, one per slot
        self.offset = 1
        self.flip = False
        self.flood = None
        self.loop = False
        self.sent = 0
        self._due = False
        self._sync_no = 0
        self._now = 0
        self._buf = bytearray(80)

    def _on(self, f):
        self.frames += 1
        m = f.msg
        self.kinds[m] = self.kinds.get(m, 0) + 1
        if f.t == T_SYNC:
            self.syncs += 1
            self._sync_no = f.frame_no
            self._due = True  # its slot: right after the sync
            return
        if m == cat.MSG_AC_INFO:
            return
        p = bytes(f.payload)
        self.heard.append((self._now, f.frame_no, p))
        if len(self.heard) > self.keep:
            self.heard.pop(0)
        if peers.answer_version(p, len(p)) >= 0:
            self.answers.append(peers.answer_version(p, len(p)))
        elif peers.is_bms_status(p, len(p)):
            self.statuses += 1
            self.status = (cat.get(p, cat.STATUS_FLAGS), cat.get(p, cat.STATUS_RATE))

    def _frame(self, payload):
        n = encode_data(self._buf, self.addr, (self._sync_no + self.offset) & 0x7F, payload)
        return bytes(self._buf[:n])

    def send(self, payload):
        """payload in the next slot (a controller's request: call again to repeat it)."""
        self.queue.append(bytes(payload))

    def __call__(self, now):
        self._now = now
        tx = self.uart.take_tx()
        if tx:
            self.dec.feed(tx)
            if self.loop:
                self.uart.inject(tx)
        if self.flood is not None:
            self.uart.inject(self._frame(self.flood[0]) * self.flood[1])
        if self._due and self.queue:
            f = bytearray(self._frame(self.queue.pop(0)))
            if self.flip:
                self.flip = False
                f[5] ^= 0x01
            self.uart.inject(bytes(f))
            self.sent += 1
        self._due = False  # its slot is the tick it heard the sync
