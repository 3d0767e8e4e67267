"""Stimulus for the emulated Pico: a Multi's VE.Bus traffic (built with lib/vebus), the BTV loop,
remote on/off, the mains detector, a GX's BMS probe, console input and the probe's triggers.

    s = Stim()
    s.multi(0, 8000)                 # syncs every 20 ms, 0xE4 5 ms after each, 0x41/0x80 each s,
                                     # a saturated 20 ms window every 5 s
    s.btv_ok(0); s.remote(0, True); s.mains(0, False)
    s.btv(4000, PREALARM, 0)         # the BTV pre-alarm line says "pre-alarm"
    s.gx_probe(3500)                 # on the Multi port (uart=PANEL_UART: the Remote panel's)
    json.dump(s.records(), f)        # run.mjs --stim

Pins are the Pico profile's (firmware/hw/board_pico.py); levels are docs/hardware.md's front
ends: BTV lines high = OK, remote L pulled low = on, the mains detector's optocoupler pulls its
pulled-up input low while AC is present.
Times are emulated ms since power-on. Each byte on the wire takes 39.06 us (256000 8N1).
"""

from firmware.hw.board_pico import PROFILE
from vebus import ADDR_MULTI, encode_data, encode_sync, next_frame_no
from vebus import catalogue as cat

BYTE_MS = 10 / 256.0  # one byte at 256000 baud, 8N1
SYNC_MS = 20
AC_INFO_AFTER_MS = 5  # the Multi's 0xE4 follows its sync by 5 ms (the BMS's slot is before it)
SLOW_EVERY_MS = 1000  # 0x41 LEDs and 0x80 condition
SATURATE_EVERY_MS = 5000

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
            plen = cat.build_sync(self._pay, 0x00, (n * 222) & 0xFFFF)
            self.uart(t, self._buf[: encode_sync(self._buf, n, self._pay, plen)])
            self.syncs.append((t, n))
            frames = [self._data(nn, cat.build_ac_info(self._pay, 50000, 1300))]
            if t >= next_slow:
                next_slow += SLOW_EVERY_MS
                frames.append(
                    self._data(
                        nn, cat.build_led(self._pay, 1 if ac_in else 0, 0, 0, 50, 500, 160, 3)
                    )
                )
                frames.append(self._data(nn, cat.build_condition(self._pay, True, 0)))
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
            t += SYNC_MS
        return n

    def gx_probe(self, t_ms, uart=MULTI_UART):
        """A GX's BMS probe (its MK3's frame) on `uart`; the BMS answers on the port it came
        from (the scenarios run one port: see scenarios.SETTINGS)."""
        frame = self._data(0x10, cat.build_probe(self._pay), cat.BMS_ADDR)
        self.uart(t_ms, frame, uart)
