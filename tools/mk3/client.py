"""An MK3-USB session: send MK2 requests, wait for the matching reply, read the Multi's view.

`Mk3(port)` takes anything with `write(bytes)` and `read(n) -> bytes` (a pyserial Serial opened
at 2400 baud with a short timeout, or tools.mk3.fake.FakeMultiPort). Framing is lib/vebus's
`vebus.mk2`; the meaning of each reply is tools.mk3.protocol. Time is read through `clock`
(seconds, monotonic), so a test can run a session without waiting.
"""

import time

from tools.mk3 import protocol as p
from vebus import mk2


class Mk3Error(Exception):
    """The interface did not answer as expected (one line, for the CLI)."""


class Mk3:
    TIMEOUT_S = 1.0  # a reply at 2400 baud takes well under 100 ms; Multis answer in < 0.5 s
    RETRIES = 2  # 1-2 % of VE.Bus commands go unanswered and are re-sent

    def __init__(self, port, clock=time.monotonic):
        self.port = port
        self.clock = clock
        self._bodies = []
        self._dec = mk2.Mk2Decoder(self._on_frame)
        self._out = bytearray(mk2.MAX_FRAME)
        self._wseq = 0
        self.scales = {}
        self.address = None

    # ---- transport ----
    def _on_frame(self, frame):
        self._bodies.append(bytes(frame.body))

    def send(self, cmd, data=b""):
        n = mk2.encode(self._out, cmd, data)
        self.port.write(bytes(self._out[:n]))

    def _pump(self):
        chunk = self.port.read(64)
        if chunk:
            self._dec.feed(chunk)
        return bool(chunk)

    def request(self, req, parse, what):
        """Send req = (cmd, data) until parse(body) gives a result; Mk3Error after the retries."""
        cmd, data = req
        for _ in range(self.RETRIES + 1):
            self._bodies.clear()
            self.send(cmd, data)
            deadline = self.clock() + self.TIMEOUT_S
            while self.clock() < deadline:
                if not self._pump():
                    continue
                while self._bodies:
                    got = parse(self._bodies.pop(0))
                    if got is not None:
                        return got
            self._dec.reset()  # a silence ends any partial frame
        raise Mk3Error("no answer to %s from the MK3 interface" % what)

    def _winmon_letter(self):
        self._wseq = (self._wseq + 1) % 4
        return p.WINMON[self._wseq]

    def _winmon(self, make, parse, what):
        letter = self._winmon_letter()

        def parse_own(body):
            return parse(body) if len(body) > 1 and body[1] == letter else None

        return self.request(make(letter), parse_own, what)

    # ---- requests ----
    def version(self):
        return self.request(p.VERSION, p.parse_version, "the version request ('V')")

    def select(self, address=0):
        got = self.request(p.select_address(address), p.parse_address, "'A' select address")
        self.address = got["address"]
        return got

    def leds(self):
        return self.request(p.LEDS, p.parse_leds, "the LED request ('L')")

    def load_scales(self):
        """Scale and offset of UBat and IBat from the Multi (defaults if it will not say)."""
        for ram_id in (p.RAM_UBAT, p.RAM_IBAT):
            try:
                self.scales[ram_id] = self._winmon(
                    lambda letter, i=ram_id: p.ram_info(letter, i),
                    p.parse_scale,
                    "RAM variable info %d" % ram_id,
                )
            except Mk3Error:
                self.scales.pop(ram_id, None)
        return self.scales

    def dc_info(self):
        def parse(body):
            got = p.parse_info(body, self.scales)
            return got if got is not None and "dc_voltage" in got else None

        return self.request(p.DC_INFO, parse, "DC info ('F' 0)")

    def ac_info(self, phase=1):
        def parse(body):
            got = p.parse_info(body, self.scales)
            return got if got is not None and "device_state" in got else None

        return self.request(p.ac_info(phase), parse, "AC info ('F' %d)" % phase)

    def config(self):
        return self.request(p.CONFIG_INFO, p.parse_config, "the configuration frame ('F' 5)")

    def read_ram(self, ids):
        """Raw u16 values of RAM variables, two per request; None for an unsupported id."""
        out = {}
        for k in range(0, len(ids), 2):
            pair = ids[k : k + 2]
            vals = self._winmon(
                lambda letter, a=pair: p.read_ram(letter, *a), p.parse_ram, "RAM read %r" % pair
            )
            for j, ram_id in enumerate(pair):
                out[ram_id] = vals[j] if j < len(vals) else None
        return out

    def snapshot(self):
        """Everything a bench tester looks at, as one flat dict (monitor compares these)."""
        snap = {}
        snap.update(self.ac_info(1))
        snap.update(self.config())
        snap.update(self.leds())
        snap.update(self.dc_info())
        return snap
