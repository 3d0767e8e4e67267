"""The app relaying between its two ports, step by step, with UARTs that allocate nothing.

    from relayrig import alloc_per_frame
    alloc_per_frame()   # {"relay_alloc_bytes_per_frame": ..., "relayed_frames": ...}

A Multi on port 0 (a sync every 20 ms, its AC info 5 ms later) and a GX on port 1 (a Winmon
"read RAM var" request 3 ms after every other sync, numbered for it, as it would answer the
relayed sync), driven through App.bus_step, protect_step and inputs_step in virtual time, as the
bus task polls them where the UART has no RX-idle IRQ (the unix port). Each UART stand-in echoes
what is written (the RS485 transceiver) and copies bytes in place: the heap it sees is the app's.
Used by tools/bench/bench_relay_pico.py on the VM.
"""

import gc

from vebus import ADDR_CONTROLLER, ADDR_MULTI, encode_data, encode_sync, next_frame_no
from vebus import catalogue as cat

machine = __import__("machine")  # the fake of tests/fakes

GX_ID = 0xE4  # Venus OS's Winmon ids (vebus.md)


class Uart:
    """Bytes in (put) and out (write, echoed back as the transceiver does), no allocation."""

    def __init__(self, size=512):
        self.rx = bytearray(size)
        self.n = 0
        self.i = 0
        self.tx_frames = 0
        self.tx_bytes = 0
        self.last = bytearray(80)  # the last frame written
        self.last_n = 0

    def put(self, buf, k):
        if self.i == self.n:
            self.i = self.n = 0
        rx = self.rx
        o = self.n
        for j in range(k):
            rx[o + j] = buf[j]
        self.n = o + k

    def any(self):
        return self.n - self.i

    def readinto(self, buf, k):
        m = self.n - self.i
        if k < m:
            m = k
        rx = self.rx
        o = self.i
        for j in range(m):
            buf[j] = rx[o + j]
        self.i = o + m
        return m

    def write(self, buf, k):
        last = self.last
        for j in range(k):
            last[j] = buf[j]
        self.last_n = k
        self.tx_frames += 1
        self.tx_bytes += k
        self.put(buf, k)  # the echo
        return k

    def flush(self):
        pass


class Rig:
    def __init__(self, root):
        import main
        from firmware.core.settings import Settings

        machine.reset_fakes()
        for p in (16, 17, 18):  # the BTV loop OK, remote on (docs/hardware.md levels)
            machine.Pin(p).external = 1
        machine.Pin(10).external = 0
        machine.Pin(11).external = 0
        self.t = 1000
        s = Settings()
        s.set("vebus_mode", "bms")
        gc.collect()
        self.app = main.build(root, self.ticks_ms, s)
        ports = self.app.board.ports
        self.multi = self._wire(ports[0])
        self.gx = self._wire(ports[1]) if len(ports) > 1 else None
        self.no = 0
        self.buf = bytearray(80)
        self.pay = bytearray(32)
        self.gx_sent = 0
        self.gx_on_multi = 0  # GX requests seen written on the Multi port

    def ticks_ms(self):
        return self.t

    def _wire(self, port):
        u = Uart()
        port.uart = u
        port._write = u.write
        port._flush = u.flush
        return u

    def _steps(self, ms):
        app = self.app
        for _ in range(ms):
            self.t += 1
            app.bus_step(self.t)
            m = self.multi
            if m.last_n > 6 and m.last[4] == cat.MSG_WINMON and m.last[5] == GX_ID:
                self.gx_on_multi += 1
                m.last_n = 0

    def sync(self):
        """One sync period: the Multi's sync and AC info, the GX's request (every other)."""
        app, buf, pay = self.app, self.buf, self.pay
        self.no = (self.no + 1) & 0x7F
        n = self.no
        app.inputs_step(self.t)
        app.protect_step(self.t)
        self.multi.put(buf, encode_sync(buf, n, pay, cat.build_sync(pay, 0, n)))
        self._steps(3)
        if self.gx is not None and n & 1:
            plen = cat.build_winmon(pay, GX_ID, 0x30, b"\x01", 1)
            self.gx.put(buf, encode_data(buf, ADDR_CONTROLLER, next_frame_no(n), pay, plen))
            self.gx_sent += 1
        self._steps(2)
        plen = cat.build_ac_info(pay, 50000, 1300)
        self.multi.put(buf, encode_data(buf, ADDR_MULTI, next_frame_no(n), pay, plen))
        self._steps(15)

    def relayed(self):
        """Frames that crossed: written on the panel port, and GX requests on the Multi port."""
        return (self.gx.tx_frames if self.gx is not None else 0) + self.gx_on_multi


def alloc_per_frame(warm=200, measured=200):
    import vmtest

    rig = Rig(vmtest.fresh_root("relay-bench"))
    for _ in range(warm):  # start-up, version queries, every frame length seen once
        rig.sync()
    rig.app.log_step(rig.t)  # the log's flash writes allocate: they stay in the log task
    before = rig.relayed()

    def run():
        for _ in range(measured):
            rig.sync()

    grew = vmtest.alloc_bytes(run)
    frames = rig.relayed() - before
    return {
        "relay_alloc_bytes_per_frame": round(grew / frames, 2) if frames else None,
        "relayed_frames": frames,
        "relay_alloc_bytes": grew,
        "multi_port_frames_sent": rig.multi.tx_frames,
    }
