"""The emulated-Pico scenarios: stimulus, length and what a bench tester checks on pins and wire.

Each scenario runs the deployed image with `vebus_mode` "bms" (so the BMS transmits) and the
probe (tools/pico/probe), and returns Check rows. A check that fails because of a firmware
defect known today names it in `defect` (the smoke test marks those xfail); it still fails.

Expected behaviour, from the manual as docs/ and firmware/core/protection.py word it: outputs
floating from power-on until the loop has read OK for startup_ok_ms; high cell -> charge
disconnect floats at once; battery pre-alarm -> pre-alarm output high (loads on); low cell ->
pre-alarm at once, load disconnect floats prealarm_to_disconnect_s later and the Multi is told
off (charger-only once the mains detector sees AC); remote off -> every output floating; a task
that stops -> outputs floating (docs/hardware.md: floating = off).
"""

from tools.pico import emu
from tools.pico import figures as fg
from tools.pico.stim import CHARGE, DISCHARGE, PREALARM, Stim
from vebus import catalogue as cat

# One VE.Bus port: rp2emu's transceiver echoes one UART only (--rs485-echo), and the Remote panel
# port's relay needs its echo (firmware/hw/rs485.py); the GX probes on the Multi port.
SETTINGS = {"vebus_mode": "bms", "panel_port": False}
# Known firmware defects (being fixed), named where a check fails because of them.
D_DE = "DE released late after the last stop bit"
D_BUSY = "busy-loop hang keeps the outputs driven until the watchdog reset"
D_GPIO15 = "GPIO15 (pre-alarm) borrowed by pico-sdk's USB enumeration fix"


class Check:
    def __init__(self, name, ok, detail="", defect=None, value=None):
        self.name, self.ok, self.detail, self.defect = name, bool(ok), detail, defect
        self.value = value  # the figure checked, where there is one

    def __repr__(self):
        return "%s %s: %s" % ("PASS" if self.ok else "FAIL", self.name, self.detail)


class Result:
    """One scenario's run, its checks, its stimulus and the spans (state -> (t0_ms, t1_ms)) in
    which the CPU figures of that state are read."""

    def __init__(self, run, checks, stim, spans=None):
        self.run, self.checks, self.stim, self.spans = run, checks, stim, spans or {}


def base(t_end, multi_until=None, saturate_at=5000):
    """Battery OK, remote on, no mains, the Multi's traffic from 300 ms."""
    s = Stim()
    s.btv_ok(0)
    s.remote(0, True)
    s.mains(0, False)
    s.multi(300, multi_until or t_end, saturate_first=saturate_at)
    return s


PC_STEP_MS = 0.37  # the core's state sampled this often in a state's span (no alias with 1 ms)


def run(name, s, max_ms, log=None, spans=()):
    """Run with the probe, 1 ms CPU windows, and the core's state sampled in each span."""
    pc_at = ["%g:%d:%g" % (t0, (t1 - t0) / PC_STEP_MS, PC_STEP_MS) for t0, t1 in spans]
    return emu.run(
        name, s, max_ms, settings=SETTINGS, probe=emu.PROBE, cpu_window_ms=1, pc_at=pc_at, log=log
    )


# ---- checks shared by the scenarios ----
def boot_checks(r):
    tr = r.trace
    main_at = tr.exec_times("main.py")[0]
    app_drive = fg.first_drive_us(tr)
    out = []
    for name, pin in fg.OUTPUT_PINS.items():
        states = fg.before_app(tr, pin, app_drive)
        bad = [s for s in states if s not in ("reset", "pull-down", "float")]
        fl = fg.first_float_ms(tr, pin)
        out.append(
            Check(
                "%s (GPIO%d) never driven nor held before the app turns it on" % (name, pin),
                not bad,
                "states before %.0f ms: %s" % (app_drive / 1000, " > ".join(states)),
                D_GPIO15 if pin == 15 and bad else None,
            )
        )
        out.append(
            Check(
                "%s floating before main.py starts" % name,
                fl is not None and fl * 1000 <= main_at,
                "floating at %s ms, main.py at %.0f ms" % (fl, main_at / 1000),
            )
        )
    return out


def health_checks(r, resets_ok=False, until_ms=None):
    """No traceback, no RX overrun (and no reset) up to until_ms (a Ctrl-C stops the app)."""
    tr = r.trace
    t1 = (until_ms or r.emulated_ms) * 1000
    text = "".join(x["text"] for x in tr.ev("console") if x["t_us"] <= t1)
    # Until the app has opened the Multi port (its TX pin GPIO0 set up, and the driver's RX
    # interrupt on within the next ms or so) nobody reads the FIFO: the Multi's bytes overrun it.
    opened = min([t for t, _ in tr.pin_changes(0)] or [0]) + 5000
    # In a light sleep the UART is not served: bytes arriving then are lost by design (firmware/
    # app.py, "Low power"); an overrun while awake is a defect.
    after = [x for x in tr.overruns() if opened <= x["t_us"] <= t1]
    asleep = [x for x in after if fg.in_light_sleep(tr, x["t_us"])]
    overruns = [x for x in after if x not in asleep]
    out = [
        Check(
            "no traceback on the console (nor an IRQ handler's exception)",
            "Traceback" not in text and "Uncaught exception" not in text,
            _tail(text),
        ),
        Check(
            "no RX overrun while awake once the app opened the Multi port",
            not overruns,
            "%d overruns after %.0f ms (%d before; %d in light sleeps, lost by design)"
            % (
                len(overruns),
                opened / 1000,
                sum(1 for x in tr.overruns() if x["t_us"] < opened),
                len(asleep),
            ),
        ),
    ]
    if not resets_ok:
        out.append(Check("no reset", not tr.resets(), str(tr.resets())))
    return out


def bus_checks(r):
    f = fg.slot_figures(r.trace)
    n = f["frames"]
    return [
        Check("the BMS transmits (vebus_mode bms)", n > 0, "%d frames" % n),
        Check(
            "each frame numbered sync + 1",
            n and not f["wrong_number"],
            "%d of %d wrong" % (f["wrong_number"], n),
        ),
        _goal(
            f,
            "pico_slot_offset_us_max",
            None,
            "median %s us; late: %s" % (f["slot_offset_us_median"], fg.late_slots(r.trace, 2000)),
        ),
        _goal(f, "pico_slot_jitter_us"),
        _goal(f, "pico_de_release_us_max", D_DE, "never released: %d" % f["de_never_released"]),
        _goal(f, "pico_bus_overlap_bytes"),
    ]


def _goal(figs, key, defect=None, more=""):
    v = figs[key]
    ok = fg.meets(key, v)
    return Check(
        "%s %s" % (key, fg.goal_text(key)),
        ok,
        "%s %s" % (v, more),
        None if ok else defect,
    )


def _tail(text):
    lines = [x for x in text.splitlines() if x.strip()]
    return lines[-1][:100] if lines else "(console empty)"


def edge_check(r, line_pin, level, out_name, want_driven, t_ms):
    d = fg.output_change_after(r.trace, fg.OUTPUT_PINS[out_name], t_ms * 1000, want_driven)
    key = "pico_btv_edge_to_output_ms"
    ok = fg.meets(key, d)
    return Check(
        "BTV GPIO%d -> %d at %d ms: %s %s within %s"
        % (line_pin, level, t_ms, out_name, "on" if want_driven else "off", fg.goal_text(key)),
        ok,
        "%s ms" % (None if d is None else round(d, 1)),
        None,
        d,
    )


# ---- scenarios ----
def normal_stim(smoke=False):
    """The "normal" scenario's stimulus and the times (ms) of its events: end, probe (a GX's),
    pa and pa_end (the pre-alarm's edges), hc (a high cell), heap (the heap trigger), ctrl_c."""
    at = {"end": 4700 if smoke else 9000}
    s = base(at["end"], saturate_at=3500 if smoke else 5000)
    # the probe in the quiet end of a Multi cycle (syncs at 300 + 20k ms), not over its frames
    times = (3315, 3600, 4000, 4200, 4500) if smoke else (3315, 4500, 5000, 5500, 8000)
    at.update(zip(("probe", "pa", "pa_end", "hc", "ctrl_c"), times))
    s.gx_probe(at["probe"])
    # After the CPU figures' span and the last edge's reaction: the probe's collection and heap
    # count hold every task ~40 ms.
    at["heap"] = at["ctrl_c"] - (150 if smoke else 300)
    s.heap(at["heap"])
    s.btv(at["pa"], PREALARM, 0)
    s.btv(at["pa_end"], PREALARM, 1)
    s.btv(at["hc"], CHARGE, 0)
    s.console(at["ctrl_c"], "\x03")
    return s, at


def normal(log=None, smoke=False):
    """Boot, traffic (a saturated window), a GX probe, pre-alarm and high-cell edges, Ctrl-C."""
    s, at = normal_stim(smoke)
    end, t_probe, t_pa, t_pa_end, t_hc, t_ctrl_c = (
        at[k] for k in ("end", "probe", "pa", "pa_end", "hc", "ctrl_c")
    )
    spans = {"normal": (3000, t_ctrl_c - 400)}
    r = run("normal-smoke" if smoke else "normal", s, end, log, () if smoke else spans.values())
    tr = r.trace
    checks = boot_checks(r) + health_checks(r, until_ms=t_ctrl_c) + bus_checks(r)
    on_at = [fg.output_change_after(tr, p, 0, True) for p in (13, 14)]
    checks.append(
        Check(
            "load and charge disconnect on after start-up (loop OK for startup_ok_ms)",
            None not in on_at,
            "on at %s ms" % on_at,
        )
    )
    answers = fg.probe_answers(tr, t_probe * 1000)
    checks.append(
        Check(
            "GX probe answered (the V2's version) within 200 ms",
            answers and answers[0] - t_probe * 1000 <= 200_000,
            "answer at %s ms" % (round(answers[0] / 1000, 1) if answers else None),
        )
    )
    checks.append(edge_check(r, 18, 0, "pre-alarm", True, t_pa))
    checks.append(edge_check(r, 18, 1, "pre-alarm", False, t_pa_end))
    checks.append(edge_check(r, 17, 0, "charge disconnect", False, t_hc))
    fl = fg.all_floating_after(tr, t_ctrl_c * 1000)
    checks.append(
        Check(
            "Ctrl-C on the console: outputs floating within 100 ms",
            fl is not None and fl <= 100,
            "%s ms; console: %s" % (fl, _tail(r.console)),
        )
    )
    # A stopped BMS says nothing more to the Multi (its last word would still allow).
    after = [f for f in tr.tx_frames(fg.MULTI_UART) if f.start_us > (t_ctrl_c + 100) * 1000]
    checks.append(
        Check(
            "Ctrl-C on the console: no frame on the bus from 100 ms after it",
            not after,
            "%d frames, the first at %s ms"
            % (len(after), round(after[0].start_us / 1000, 1) if after else None),
        )
    )
    return Result(r, checks, s, spans)


def heap_free(log=None):
    """pico_heap_free_bytes: "normal"'s stimulus up to its heap trigger, with the heap probe
    alone (no cycle markers, no wrapped methods): what the app leaves free on a board with the
    same image at full traffic. None if the reading never came."""
    s, at = normal_stim()
    r = emu.run("heap", s, at["heap"] + 100, settings=SETTINGS, probe=emu.HEAP_PROBE, log=log)
    return fg.heap_free(r.console)


def remote(log=None):
    """Remote off at 4.5 s (the outputs are on from ~3.6 s): every output floating; the Multi
    (told off) stops syncing at 6 s; remote on at 10 s: outputs back after min_hold_s (counted
    from the switch-off)."""
    s = base(15000, multi_until=6000)
    s.remote(4500, False)
    s.remote(10000, True)
    spans = {"remote off": (5000, 6000), "remote off, Multi off (light sleep)": (7500, 9900)}
    r = run("remote", s, 15000, log, spans.values())
    tr = r.trace
    pins = (fg.OUTPUT_PINS["load disconnect"], fg.OUTPUT_PINS["charge disconnect"])
    was_on = all(fg.driven(tr.pin_state(p, 4500_000)) for p in pins)
    fl = fg.all_floating_after(tr, 4500_000) if was_on else None  # never on: nothing to show
    hold_ms = fg.default("min_hold_s") * 1000
    back = fg.output_change_after(tr, 13, 10000_000, True)
    return Result(
        r,
        health_checks(r)
        + [
            Check("load and charge disconnect on when remote off comes", was_on),
            Check(
                "remote off: every output floating within %d ms (debounce, task ticks)"
                % fg.EDGE_LIMIT_MS,
                fl is not None and fl <= fg.EDGE_LIMIT_MS,
                "%s ms" % fl,
            ),
            Check(
                "remote on: load disconnect on again after min_hold_s",
                back is not None and 4500 + hold_ms <= 10000 + back <= 4500 + hold_ms + 500,
                "on %s ms after the remote-on edge" % back,
            ),
        ],
        s,
        spans,
    )


def hang(busy, log=None):
    """A task that stops (busy=False) or a busy loop in Python (busy=True) at 4.5 s, once the
    outputs are on (the boot check and start-up take ~3.3 s)."""
    name = "hang-busy" if busy else "hang-task"
    end = 8000 if busy else 6700  # the busy loop: until the watchdog reset (wdt_ms)
    s = base(end)
    s.hang(4500, busy)
    r = run(name, s, end, log)
    # The fault's moment: the probe's line, printed as it stops the task / enters the loop.
    at = r.trace.console_at("PROBE busy loop" if busy else "PROBE stop task")
    pins = (fg.OUTPUT_PINS["load disconnect"], fg.OUTPUT_PINS["charge disconnect"])
    was_on = at is not None and all(fg.driven(r.trace.pin_state(p, at)) for p in pins)
    # outputs that were never on cannot show the hang: no figure rather than a false 0
    fl = fg.all_floating_after(r.trace, at) if was_on else None
    key = "pico_hang_to_outputs_floating_ms"
    ok = fg.meets(key, fl)
    return Result(
        r,
        health_checks(r, resets_ok=True, until_ms=at and at / 1000)
        + [
            Check("load and charge disconnect on when the fault comes", was_on),
            Check(
                "%s: outputs floating, %s" % (name, fg.goal_text(key)),
                ok,
                "%s ms after the fault at %s ms; resets %s"
                % (fl, at and round(at / 1000), r.trace.resets()),
                None if ok or not busy else D_BUSY,
                fl,
            ),
        ],
        s,
    )


def low_cell(log=None):
    """Low cell at 5 s (the outputs are on from ~3.6 s: boot, the boot check, startup_ok_ms):
    pre-alarm at once, loads off prealarm_to_disconnect_s later, the Multi told off (no AC);
    the mains detector sees AC at 38.5 s: the Multi told charger-only."""
    s = base(41500)
    s.btv(5000, DISCHARGE, 0)
    s.mains(38500, True)
    spans = {"low power after a low-cell shutdown": (36000, 38400)}
    r = run("low-cell", s, 41500, log, spans.values())
    tr = r.trace
    delay = fg.default("prealarm_to_disconnect_s") * 1000
    pa = fg.output_change_after(tr, fg.OUTPUT_PINS["pre-alarm"], 5000_000, True)
    off = fg.output_change_after(tr, 13, 5000_000, False)
    sw = fg.switch_frames(tr)
    before = {v for t, v in sw if 35500_000 < t < 38500_000}
    after = {v for t, v in sw if t > 38600_000}
    return Result(
        r,
        health_checks(r)
        + [
            Check("low cell: pre-alarm on at once", pa is not None and pa <= 100, "%s ms" % pa),
            Check(
                "low cell: load disconnect off prealarm_to_disconnect_s after the pre-alarm",
                off is not None and pa is not None and delay <= off - pa <= delay + 200,
                "%s ms after the pre-alarm" % (None if off is None or pa is None else off - pa),
            ),
            Check(
                "no AC: the Multi told off; mains detector AC: charger-only",
                before == {cat.SWITCH_SLEEP} and cat.SWITCH_CHARGER_ONLY in after,
                "switch states before %s, after %s" % (sorted(before), sorted(after)),
            ),
        ],
        s,
        spans,
    )


def multi_off(log=None):
    """The Multi's traffic stops at 4 s (switched off / absent)."""
    s = base(9000, multi_until=4000)
    spans = {"Multi off / absent": (5500, 9000)}
    r = run("multi-off", s, 9000, log, spans.values())
    return Result(r, health_checks(r), s, spans)


SCENARIOS = {
    "normal": normal,
    "remote": remote,
    "hang-task": lambda log=None: hang(False, log),
    "hang-busy": lambda log=None: hang(True, log),
    "low-cell": low_cell,
    "multi-off": multi_off,
}
