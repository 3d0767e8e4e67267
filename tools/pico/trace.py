"""Read a run.mjs --trace file (JSON lines, emulated times) into what a bench tester looks at.

    t = Trace.load("out/pico/normal/trace.jsonl")
    t.pin_state(13, t_us)      # "high" / "low" (driven), "float", "pull-down", "pull-up", "keeper"
    t.pin_changes(13)          # [(t_us, state)] in time order ("reset" until the first change:
                               #  an RP2040 pin is an input with its pull-down after reset)
    t.tx_frames(0)             # our frames on UART0: TxFrame (bytes, start/end of the wire time)
    t.rx_syncs(0)              # (end of the sync's last stop bit us, frame number) of each sync
    t.wire(0)                  # [(start_us, end_us)] of every byte the other nodes sent
    t.frames(1), t.frames(0, sent=False)  # frames split at their FF: ours / the other nodes'
    t.resets(), t.overruns(), t.console_text(), t.exec_times("main.py"), t.sections(id), t.cpu(),
    t.waiting()

A line that is not JSON, or a trace with no records, raises TraceError (one line).
"""

import json
from pathlib import Path

from vebus import Decoder

BYTE_US = 1e6 * 10 / 256000  # 39.0625 us a byte at 256000 8N1
FRAME_GAP_US = 2 * BYTE_US  # a longer pause between our bytes ends a frame


class TraceError(Exception):
    pass


class TxFrame:
    """One frame we sent: its bytes and wire times (start of the first start bit, end of the
    last stop bit), decoded (frame_no, msg, payload) when it is a valid VE.Bus frame."""

    def __init__(self, start_us, data, end_us):
        self.start_us = start_us
        self.end_us = end_us
        self.data = bytes(data)
        self.addr = self.frame_no = self.msg = None
        self.sync = False
        self.payload = b""
        got = []
        d = Decoder(
            lambda f: got.append((f.addr, f.is_sync(), f.frame_no, f.msg, bytes(f.payload))),
            strict=False,
        )
        d.feed(bytearray(self.data))
        if got:
            self.addr, self.sync, self.frame_no, self.msg, self.payload = got[0]


class Trace:
    def __init__(self, records):
        self.records = records
        self._by_ev = {}
        for r in records:
            self._by_ev.setdefault(r.get("ev"), []).append(r)

    @classmethod
    def load(cls, path):
        recs = []
        try:
            with open(path) as f:
                for i, line in enumerate(f, 1):
                    if line.strip():
                        try:
                            recs.append(json.loads(line))
                        except ValueError:
                            raise TraceError(
                                "trace %s line %d is not JSON (cut short?)" % (path, i)
                            ) from None
        except OSError as e:
            raise TraceError("trace %s cannot be read: %s" % (path, e.strerror)) from None
        if not recs:
            raise TraceError("trace %s is empty" % Path(path).name)
        return cls(recs)

    def ev(self, name):
        return self._by_ev.get(name, [])

    # ---- pins ----
    def pin_changes(self, pin):
        out = []
        for r in self.ev("gpio"):
            if r["pin"] == pin:
                if r["dir"] == "out":
                    st = "high" if r["level"] else "low"
                elif r.get("floating"):
                    st = "float"
                else:
                    st = {"none": "float", "up": "pull-up", "down": "pull-down"}.get(
                        r.get("pull"), str(r.get("pull"))
                    )
                out.append((r["t_us"], st))
        return out

    def pin_state(self, pin, t_us):
        st = "reset"
        for t, s in self.pin_changes(pin):
            if t > t_us:
                break
            st = s
        return st

    # ---- UART ----
    def tx_bytes(self, uart):
        return [(r["t_us"], r["byte"]) for r in self.ev("uart_tx") if r["uart"] == uart]

    def tx_frames(self, uart):
        frames = []
        cur, start, last = [], 0.0, 0.0
        for t, b in self.tx_bytes(uart):
            if cur and t - last > FRAME_GAP_US:
                frames.append(TxFrame(start, cur, last + BYTE_US))
                cur = []
            if not cur:
                start = t
            cur.append(b)
            last = t
        if cur:
            frames.append(TxFrame(start, cur, last + BYTE_US))
        return frames

    def frames(self, uart, sent=True):
        """Every frame on the UART's wire, split at its FF (so frames sent back to back stay
        apart), as TxFrame: ours (sent) or the other nodes' (received, our echo left out)."""
        if sent:  # (start of the start bit, end of the stop bit, byte)
            recs = [(t, t + BYTE_US, b) for t, b in self.tx_bytes(uart)]
        else:
            recs = [(r["start_us"], r["t_us"], r["byte"]) for r in self._rx(uart)]
        out, cur, start = [], [], 0.0
        for t0, t1, b in recs:
            if not cur:
                start = t0
            cur.append(b)
            if b == 0xFF:
                out.append(TxFrame(start, cur, t1))
                cur = []
        return out

    def _rx(self, uart):
        return [r for r in self.ev("uart_rx") if r["uart"] == uart and not r.get("echo")]

    def wire(self, uart):
        """Wire time of every byte the other nodes sent: [(start_us, end_us)]."""
        return [(r["start_us"], r["t_us"]) for r in self._rx(uart)]

    def rx_syncs(self, uart):
        """(end of the last stop bit, frame number) of every sync the other nodes sent."""
        out = []
        now = [0.0]
        d = Decoder(lambda f: out.append((now[0], f.frame_no)) if f.is_sync() else None)
        one = bytearray(1)
        for r in self._rx(uart):
            now[0] = r["t_us"]
            one[0] = r["byte"]
            d.feed(one)
        return out

    def overruns(self):
        return self.ev("uart_rx_overrun")

    # ---- the rest ----
    def resets(self):
        return [(r["t_us"], r["reason"]) for r in self.ev("reset")]

    def exec_times(self, name):
        return [r["t_us"] for r in self.ev("exec") if r["file"].endswith(name)]

    def console_text(self):
        return "".join(r["text"] for r in self.ev("console"))

    def console_at(self, text):
        """Emulated time (us) of the console record that completes the first `text`, or None."""
        seen = ""
        for r in self.ev("console"):
            seen += r["text"]
            if text in seen:
                return r["t_us"]
        return None

    def sections(self, sid):
        """[(t_us at the stop, cycles, us)] of every marker section with this id."""
        return [(r["t_us"], r["cycles"], r["us"]) for r in self.ev("section") if r["id"] == sid]

    def section_cycles(self, sid):
        """[(t_us at the stop, start cycle, stop cycle)] of every marker section with this id."""
        return [
            (r["t_us"], r["start_cycle"], r["start_cycle"] + r["cycles"])
            for r in self.ev("section")
            if r["id"] == sid
        ]

    def waiting(self):
        """[(t_us, True if the core was sleeping (WFE/WFI))] of every --pc-at sample."""
        return [(r["t_us"], bool(r["waiting"])) for r in self.ev("pc")]

    def cpu(self):
        """[(t_us, busy cycles, idle cycles)] cumulative, one per --cpu-window-ms window."""
        return [(r["t_us"], r["busy"], r["idle"]) for r in self.ev("cpu")]
