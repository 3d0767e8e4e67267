"""Stimulus for the emulated Pico: a Multi's VE.Bus traffic (built with lib/vebus), the BTV loop,
remote on/off, the mains detector, a GX's BMS probe, console input and the probe's triggers.

    s = Stim()
    s.multi(0, 8000)                 # syncs every 20 ms, 0xE4 5 ms after each, 0x41/0x80 each s,
                                     # a saturated 20 ms window every 5 s
    s.btv_ok(0); s.remote(0, True); s.mains(0, False)
    s.btv(4000, PREALARM, 0)         # the BTV pre-alarm line says "pre-alarm"
    s.gx_probe(3500)                 # on the Multi port (uart=PANEL_UART: the Remote panel's)
    s.gx(3000, 8000)                 # a GX on the panel port at full traffic (after multi())
    json.dump(s.records(), f)        # run.mjs --stim

Pins are the Pico profile's (firmware/hw/board_pico.py); levels are docs/hardware.md's front
ends: BTV lines high = OK, remote L pulled low = on, the mains detector's optocoupler pulls its
pulled-up input low while AC is present.
Times are emulated ms since power-on. Each byte on the wire takes 39.06 us (256000 8N1).
"""

from firmware.hw.board_pico import PROFILE
from vebus import ADDR_CONTROLLER, ADDR_MULTI, encode_data, encode_sync, next_frame_no, peers
from vebus import catalogue as cat

BYTE_MS = 10 / 256.0  # one byte at 256000 baud, 8N1
SYNC_MS = 20
AC_INFO_AFTER_MS = 5  # the Multi's 0xE4 follows its sync by 5 ms (the BMS's slot is before it)
SLOW_EVERY_MS = 1000  # 0x41 LEDs and 0x80 condition
SATURATE_EVERY_MS = 5000
# The LED frame's switch register of a Multi switched on (the catalogue's inferred bits): with
# "off" there, the BMS takes the Multi for switched off at its front panel and goes low power.
_SW_ON = peers.switch_register(cat.SWITCH_ON)

# The GX on the Remote panel port (gx()). Venus OS's Winmon ids are 0xE4..0xE7 (docs/protocol.md).
GX_WINMON_ID = 0xE4
WINMON_READ_RAM, WINMON_RAM_READ_OK = 0x30, 0x85
# One request every other sync: the MK3 keeps one command open until the Multi's reply, which
# comes 25-43 ms later (docs/protocol.md), so a GX polling flat out sends about one per 40 ms.
GX_EVERY = 2
# The GX's frame starts this long after the end of the Multi's sync on UART0. A panel device
# answers after the FF of the sync it hears -- at once, or a few ms later while the bus stays
# quiet (docs/protocol.md, "Sync frame") -- and on the panel segment that is the relayed sync.
# The relay scenario measured it: the BMS relays a sync 1.6-3.0 ms after the Multi's ends (9 of
# 10 syncs outside the saturated windows; median 2.6 ms, after the BMS's own slot frame) and the
# sync takes 0.4 ms of wire, so the relayed sync has ended 2.0-3.4 ms after the Multi's; the
# relay then keeps the panel bus quiet for its devices' slot (relay.SLOT_MS from when the sync
# went out), and the Multi's next frame is relayed after it arrives, 5.8 ms after the sync. So a
# device answering at 4.5 ms is in its slot; being static, it cannot follow the relay's jitter:
# the relay scenario counts the syncs relayed later still (the GX's frame then came first).
GX_AFTER_SYNC_MS = 4.5
BTV_PINS = [pin for _, pin, _ in PROFILE["btv_inputs"]]
DISCHARGE, CHARGE, PREALARM = 0, 1, 2  # input numbers (settings btv_*_input defaults)
REMOTE_L, REMOTE_H, MAINS = PROFILE["remote_l"][1], PROFILE["remote_h"][1], PROFILE["mains"][1]
MULTI_UART, PANEL_UART = PROFILE["bus"][0][1], PROFILE["bus"][1][1]
# Trigger pins of the measurement probe (tools/pico/probe): free on the Pico profile.
HANG_BUSY_PIN = 26  # a busy loop in Python code
HANG_TASK_PIN = 27  # a task that stops (cancelled: it never checks in again)
HEAP_PIN = 28  # print gc.mem_free() after gc.collect()


class Stim:
    def __init__(self):
        self.events = []
        self.syncs = []  # (t_ms of the sync's first byte, frame number): the Multi's schedule
        self.saturated = []  # (t_ms start, t_ms end) of each saturated window
        self.quiet = []  # per sync: (t_ms its last byte ends, t_ms the Multi's frames end)
        self.gx_sent = []  # (t_ms start, t_ms end, sync number it answers, payload bytes)
        self._buf = bytearray(96)
        self._pay = bytearray(32)

    def records(self):
        return sorted(self.events, key=lambda e: e["t_ms"])

    # ---- raw ----
    def gpio(self, t_ms, pin, level):
        """Drive pin to level (0/1) at t_ms; None releases it (its pull decides)."""
        self.events.append({"t_ms": round(t_ms, 4), "gpio": pin, "level": level})

    def uart(self, t_ms, data, uart=MULTI_UART):
        """Bytes back to back on the UART's RX line from t_ms; returns the end time (ms)."""
        self.events.append({"t_ms": round(t_ms, 4), "uart": uart, "hex": bytes(data).hex(" ")})
        return t_ms + len(data) * BYTE_MS

    def console(self, t_ms, text):
        self.events.append({"t_ms": round(t_ms, 4), "console": text})

    # ---- the board's inputs ----
    def btv(self, t_ms, line, ok):
        """BTV input `line` (DISCHARGE, CHARGE, PREALARM) reads OK (1) or not (0)."""
        self.gpio(t_ms, BTV_PINS[line], 1 if ok else 0)

    def btv_ok(self, t_ms):
        for line in (DISCHARGE, CHARGE, PREALARM):
            self.btv(t_ms, line, 1)

    def remote(self, t_ms, on):
        """Remote on/off: on = L pulled to battery minus (L low, H low); off = L high, H low."""
        self.gpio(t_ms, REMOTE_L, 0 if on else 1)
        self.gpio(t_ms, REMOTE_H, 0)

    def mains(self, t_ms, present):
        """AC present: the optocoupler pulls the pin low; absent: released to the pull-up."""
        self.gpio(t_ms, MAINS, 0 if present else None)

    def heap(self, t_ms):
        """Ask the probe for the free heap after a collection (printed on the console)."""
        self.gpio(t_ms, HEAP_PIN, 1)

    def hang(self, t_ms, busy):
        """Ask the probe for a hang: a busy loop (busy) or a stopped task."""
        self.gpio(t_ms, HANG_BUSY_PIN if busy else HANG_TASK_PIN, 1)

    # ---- VE.Bus ----
    def _data(self, frame_no, plen, addr=ADDR_MULTI):
        return bytes(self._buf[: encode_data(self._buf, addr, frame_no, self._pay, plen)])

    def multi(self, t0_ms, t1_ms, ac_in=False, saturate_first=None, first_no=0):
        """The master Multi's traffic on UART0 from t0_ms to t1_ms (syncs every SYNC_MS); the
        first saturated window at saturate_first (default t0_ms + SATURATE_EVERY_MS)."""
        n = first_no
        t = t0_ms
        next_slow = t0_ms + 100
        next_sat = saturate_first if saturate_first is not None else t0_ms + SATURATE_EVERY_MS
        while t < t1_ms:
            n = (n + 1) & 0x7F
            nn = next_frame_no(n)
            plen = peers.build_sync(self._pay, 0x00, (n * 222) & 0xFFFF)
            sync_end = self.uart(t, self._buf[: encode_sync(self._buf, n, self._pay, plen)])
            self.syncs.append((t, n))
            frames = [self._data(nn, peers.build_ac_info(self._pay, 50000, 1300))]
            if t >= next_slow:
                next_slow += SLOW_EVERY_MS
                frames.append(
                    self._data(
                        nn,
                        peers.build_led(self._pay, 1 if ac_in else 0, 0, 0, 50, 500, 160, _SW_ON),
                    )
                )
                frames.append(self._data(nn, peers.build_condition(self._pay, True, 0)))
            tt = t + AC_INFO_AFTER_MS
            if t >= next_sat:
                # A saturated window: the Multi's frames back to back until the next sync.
                next_sat += SATURATE_EVERY_MS
                while tt + len(frames[0]) * BYTE_MS < t + SYNC_MS - 0.5:
                    tt = self.uart(tt, frames[0])
                self.saturated.append((t, tt))
            else:
                for f in frames:
                    tt = self.uart(tt, f) + 0.2
            self.quiet.append((sync_end, tt))
            t += SYNC_MS
        return n

    def gx_probe(self, t_ms, uart=MULTI_UART):
        """A GX's BMS probe (its MK3's frame) on `uart`; the BMS answers on the port it came
        from (the scenarios run one port: see scenarios.SETTINGS)."""
        frame = self._data(0x10, peers.build_probe(self._pay), cat.BMS_ADDR)
        self.uart(t_ms, frame, uart)

    def gx(self, t0_ms, t1_ms, probe_every_ms=1000):
        """A GX (its MK3) on the Remote panel port at full traffic, answering the Multi's syncs
        as the BMS relays them: after every GX_EVERY-th sync from t0_ms to t1_ms, a Winmon
        "read RAM var" (0x30) request, or its BMS probe every probe_every_ms (a GX that keeps
        probing: the worst case). The Multi (UART0) answers each request two syncs later
        (its replies come 25-43 ms after a command in public captures), after its own frames,
        unless that window is saturated. Call after multi()."""
        next_probe = t0_ms
        var = 0
        for i, (t, n) in enumerate(self.syncs):
            if not t0_ms <= t < t1_ms or i % GX_EVERY:
                continue
            at = self.quiet[i][0] + GX_AFTER_SYNC_MS
            request = t < next_probe
            if request:
                var = (var + 1) % 16
                plen = cat.build_winmon(self._pay, GX_WINMON_ID, WINMON_READ_RAM, bytes([var]))
            else:
                next_probe += probe_every_ms
                plen = peers.build_probe(self._pay)
            payload = bytes(self._pay[:plen])
            end = self.uart(at, self._data(next_frame_no(n), plen, ADDR_CONTROLLER), PANEL_UART)
            self.gx_sent.append((at, end, n, payload))
            if request:
                self._multi_reply(i + 2, var)

    def _multi_reply(self, i, var):
        """The Multi's "RAM read OK" for the GX's request, after sync i's own frames."""
        if i >= len(self.syncs):
            return
        t, n = self.syncs[i]
        plen = cat.build_winmon(self._pay, GX_WINMON_ID, WINMON_RAM_READ_OK, bytes([var, 0]))
        frame = self._data(next_frame_no(n), plen)
        at = self.quiet[i][1] + 0.2
        if at + len(frame) * BYTE_MS < t + SYNC_MS - 0.5:  # not in a saturated window
            self.uart(at, frame)
