"""Figures a bench tester reads off the pins and the wire, from a trace (emulated time only).

Each function takes a trace.Trace (and what the stimulus did) and returns numbers; nothing here
reads the firmware's own clock. GOALS holds every goal once: `make pico` checks against them and
`make bench` prints them beside the figures.

Definitions:
  slot offset      start of our frame's first start bit - end of the sync's last stop bit
  slot jitter      largest - smallest slot offset of the run
  DE release       DE falling edge - end of our frame's last stop bit
  bus overlap      bytes the Multi had on the wire while our driver was enabled (DE high): on a
                   real bus each one is a collision (our idle-high driver against its bits)
  busy share       executed cycles / all cycles of each 20 ms window (--cpu-window-ms)
  awake time       share of --pc-at samples (every 0.37 ms) that find the core executing: the
                   busy share in time, also where a light sleep slows the clock
  light sleep      share of 1 ms windows in which clk_sys ran under half speed (the crystal)
  wake-ups         runs of consecutive 1 ms windows in which the core executed anything, per
                   second (a lower bound: two wake-ups inside one ms count once)
  decode share     cycles in BmsRole.feed (probe marker 2) for a saturated window's bytes /
                   the cycles of 20 ms
  protect step     each slice of the protect step, from one await to the next: in the protect
                   task App.protect_read, protect_decide, protect_follow (probe markers 8, 9,
                   17), in the inputs task's step after a debounced change App.protect_edge
                   (marker 1: the read and the decision at once; its follow is a slice of the
                   inputs task); each less the Multi port's RX-idle soft IRQs that ran inside it
                   (probe marker 6: another context; their cycles and one marker pair each are
                   taken out, their dispatch stays in)
  check-in gap     time between two watchdog check-ins of a task (probe markers 10 + task)
  edge -> output   a BTV input's stimulus edge -> the output pin's change (outputs are "on" when
                   driven, "off" when not driven: floating, a pull, the reset state)
  hang -> floating the probe's hang trigger -> every output no longer driven
"""

import bisect
import statistics

from firmware.app import INPUTS_MIN_MS, TASK_NAMES
from firmware.core import settings as st
from firmware.hw.board_pico import PROFILE
from vebus import catalogue as cat
from vebus import next_frame_no, peers

# The board profile's pins (firmware/hw/board_pico.py), not the firmware's settings.
_OUT = PROFILE["outputs"]
OUTPUT_PINS = {
    "load disconnect": _OUT[0][0],
    "charge disconnect": _OUT[1][0],
    "pre-alarm": _OUT[2][0],
}
MULTI_UART, DE_PIN = PROFILE["bus"][0][1], PROFILE["bus"][0][4]
CLK_HZ = 125_000_000
MARKER_CYCLES = 744  # a start/stop marker pair with nothing between (rp2emu README)
DRIVEN = ("high", "low")
S_PROTECT, S_FEED, S_INPUTS, S_BUS, S_LOG, S_RX_IRQ, S_PROBE, S_CHECK_IN = 1, 2, 3, 4, 5, 6, 7, 10
S_PROTECT_READ, S_PROTECT_DECIDE, S_PROTECT_FOLLOW = 8, 9, 17
S_PROTECT_SLICES = (S_PROTECT, S_PROTECT_READ, S_PROTECT_DECIDE, S_PROTECT_FOLLOW)
SECTION_NAMES = {  # marker ids of tools/pico/probe
    S_PROTECT: "protect",
    S_PROTECT_READ: "protect read",
    S_PROTECT_DECIDE: "protect decide",
    S_PROTECT_FOLLOW: "protect follow",
    S_FEED: "feed",
    S_INPUTS: "inputs",
    S_BUS: "bus",
    S_LOG: "log",
    S_RX_IRQ: "rx_irq",
    S_PROBE: "probe",
    S_CHECK_IN: "check_in",
}


def default(key):
    """A setting's default (firmware/core/settings.py's table): the scenarios leave it as is."""
    return int(next(row[2] for row in st.SPEC if row[0] == key))


DEBOUNCE_MS = default("debounce_ms")
# "One tick": an input's edge (pin IRQ: BTV lines, remote on/off, mains detector) starts its
# debounce, and the inputs task wakes when that ends and runs the protect step; the tick is what
# that wake may take, the inputs period's floor (firmware/app.py).
INPUTS_TICK_MS = INPUTS_MIN_MS
# Remote off: the same path (its pins have edge IRQs too), with one tick more of margin.
EDGE_LIMIT_MS = DEBOUNCE_MS + 2 * INPUTS_TICK_MS

# key -> (">=" or "<=", goal)
GOALS = {
    "pico_heap_free_bytes": (">=", 170000),
    "pico_busy_pct_median": ("<=", 20),
    "pico_busy_pct_max": ("<=", 40),
    "pico_decode_full_window_pct": ("<=", 10),
    "pico_protect_step_max_ms": ("<=", 1.0),
    "pico_slot_offset_us_max": ("<=", 2000),
    "pico_slot_jitter_us": ("<=", 500),
    "pico_de_release_us_max": ("<=", 100),
    "pico_bus_overlap_bytes": ("<=", 0),
    # frames not sent because their slot was over (Rs485.slots_late), slots with a frame due left
    # unused (BmsRole.slots_missed): up to the probe's heap trigger in "normal". One late: the
    # first frame after the run's saturated window, whose handler is still decoding the window
    # when the sync ends, is ready at the slot's last start, sent or left out as the heap's
    # layout moves it by a few tens of us (docs/bench-testing.md); any other is a defect.
    "pico_slots_late": ("<=", 1),
    "pico_slots_missed": ("<=", 0),
    "pico_btv_edge_to_output_ms": ("<=", DEBOUNCE_MS + INPUTS_TICK_MS),
    "pico_hang_to_outputs_floating_ms": ("<=", 1000),
}


def meets(key, value):
    op, goal = GOALS[key]
    return value is not None and (value >= goal if op == ">=" else value <= goal)


def goal_text(key):
    op, goal = GOALS[key]
    return "goal %s %s" % (op, goal)


def driven(state):
    return state in DRIVEN


# ---- boot ----
def first_float_ms(tr, pin):
    """When the pin first became floating (input, no pull), ms after power-on; None if never."""
    for t, s in tr.pin_changes(pin):
        if s == "float":
            return t / 1000
    return None


def before_app(tr, pin, until_us):
    """Every state the pin went through before until_us (the app's first drive of an output)."""
    return ["reset"] + [s for t, s in tr.pin_changes(pin) if t < until_us]


def first_drive_us(tr):
    """The first time any output was driven (the app turning it on); inf if never."""
    ts = [t for p in OUTPUT_PINS.values() for t, s in tr.pin_changes(p) if driven(s)]
    return min(ts) if ts else float("inf")


# ---- the wire ----
def probe_windows(tr, margin_us=25_000):
    """(start, end) us of the probe's own heap measurements (S_PROBE), with the margin after
    each: a collection and a print hold every task and IRQ, which no board does then; a frame
    answering a sync that arrived in one tells of the instrument, not of the firmware."""
    return [
        (r["t_us"] - r["us"], r["t_us"] + margin_us)
        for r in tr.ev("section")
        if r["id"] == S_PROBE
    ]


def slots(tr):
    """[(frame, sync_no, offset_us, de_release_us)] for every frame we sent on the Multi port,
    but those answering a sync that arrived during the probe's heap measurement."""
    syncs = tr.rx_syncs(MULTI_UART)
    de = tr.pin_changes(DE_PIN)
    held = probe_windows(tr)
    out = []
    for f in tr.tx_frames(MULTI_UART):
        before = [s for s in syncs if s[0] <= f.start_us]
        if not before:
            continue
        end, no = before[-1]
        if any(a <= end <= b for a, b in held):
            continue
        falls = [t for t, s in de if t >= f.end_us - 1 and s == "low"]
        release = falls[0] - f.end_us if falls else None
        out.append((f, no, f.start_us - end, release))
    return out


def slot_figures(tr):
    rows = slots(tr)
    offs = [r[2] for r in rows]
    rel = [r[3] for r in rows if r[3] is not None]
    return {
        "frames": len(rows),
        "wrong_number": sum(1 for f, no, _, _ in rows if f.frame_no != next_frame_no(no)),
        "pico_slot_offset_us_max": round(max(offs)) if offs else None,
        "slot_offset_us_median": round(statistics.median(offs)) if offs else None,
        "pico_slot_jitter_us": round(max(offs) - min(offs)) if offs else None,
        "pico_de_release_us_max": round(max(rel)) if rel else None,
        "de_never_released": sum(1 for r in rows if r[3] is None),
        "pico_bus_overlap_bytes": bus_overlap(tr),
    }


def late_slots(tr, limit_us):
    """What ran around each frame that started later than limit_us after its sync: [(sync end
    ms, offset us, "name@start+us" of each probe section from 5 ms before the sync's end to
    the frame's start; start relative to the sync's end)]. Read beside --pc-at samples."""
    secs = [(r["t_us"] - r["us"], r["us"], r["id"]) for r in tr.ev("section")]
    out = []
    for f, _no, off, _rel in slots(tr):
        if off <= limit_us:
            continue
        end = f.start_us - off
        ran = [
            "%s@%+d+%d" % (SECTION_NAMES.get(i, i), a - end, us)
            for a, us, i in secs
            if a < f.start_us and a + us > end - 5000
        ]
        out.append((round(end / 1000, 1), round(off), ran))
    return out


def de_high_intervals(tr, pin=DE_PIN):
    out, up = [], None
    for t, s in tr.pin_changes(pin):
        if s == "high" and up is None:
            up = t
        elif s != "high" and up is not None:
            out.append((up, t))
            up = None
    if up is not None:
        out.append((up, float("inf")))
    return out


def bus_overlap(tr, uart=MULTI_UART, pin=DE_PIN):
    """Bytes the other nodes had on the wire while our driver was enabled (outside the probe's
    heap measurements, as slots())."""
    held = probe_windows(tr)
    de = [
        (lo, hi) for lo, hi in de_high_intervals(tr, pin) if not any(a <= lo <= b for a, b in held)
    ]
    n = 0
    for a, b in tr.wire(uart):
        if any(a < hi and b > lo for lo, hi in de):
            n += 1
    return n


def probe_answers(tr, after_us, uart=MULTI_UART):
    """Start times of our frames answering a BMS probe (the V2's version) after after_us."""
    out = []
    for f in tr.frames(uart):  # split at each FF: on the panel port frames go back to back
        p = f.payload
        if f.start_us > after_us and p and peers.answer_version(p, len(p)) >= 0:
            out.append(f.start_us)
    return out


def switch_frames(tr):
    """[(t_us, switch state)] of the switch frames (0x3F) we sent."""
    out = []
    for f in tr.tx_frames(MULTI_UART):
        p = f.payload
        if f.msg == cat.MSG_SWITCH and len(p) >= cat.SWITCH_LEN:
            out.append((f.start_us, cat.get(p, peers.SWITCH_STATE)))
    return out


# ---- pins after an input ----
def output_change_after(tr, pin, t_us, want_driven):
    """ms from t_us until the output pin is (want_driven) driven / not driven; None if never."""
    if driven(tr.pin_state(pin, t_us)) == want_driven:
        return 0.0
    for t, s in tr.pin_changes(pin):
        if t >= t_us and driven(s) == want_driven:
            return (t - t_us) / 1000
    return None


def all_floating_after(tr, t_us):
    """ms from t_us until no output is driven any more (a reset counts); None if never."""
    worst = 0.0
    for pin in OUTPUT_PINS.values():
        d = output_change_after(tr, pin, t_us, False)
        if d is None:
            resets = [t for t, _ in tr.resets() if t >= t_us]
            if not resets:
                return None
            d = (resets[0] - t_us) / 1000
        worst = max(worst, d)
    return worst


# ---- CPU ----
def busy_windows(tr, t0_us, t1_us, window_ms=20):
    """Busy share (%) of each window_ms window between t0 and t1 (from 1 ms cpu records)."""
    cpu = [c for c in tr.cpu() if t0_us <= c[0] <= t1_us]
    out = []
    for i in range(window_ms, len(cpu), window_ms):
        (_, b0, i0), (_, b1, i1) = cpu[i - window_ms], cpu[i]
        total = (b1 - b0) + (i1 - i0)
        if total:
            out.append(100.0 * (b1 - b0) / total)
    return out


def wakeups_per_s(tr, t0_us, t1_us):
    cpu = [c for c in tr.cpu() if t0_us <= c[0] <= t1_us]
    runs, awake = 0, False
    for (_, b0, _), (_, b1, _) in zip(cpu, cpu[1:]):
        now = b1 > b0
        if now and not awake:
            runs += 1
        awake = now
    secs = (cpu[-1][0] - cpu[0][0]) / 1e6 if len(cpu) > 1 else 0
    return runs / secs if secs else None


def awake_time_pct(tr, t0_us, t1_us):
    """Share of time the core was executing, from the --pc-at samples in [t0, t1] (a light
    sleep slows clk_sys, so a share of cycles overstates it there); None without samples."""
    s = [w for t, w in tr.waiting() if t0_us <= t <= t1_us]
    return round(100.0 * sum(1 for w in s if not w) / len(s), 1) if s else None


def slow_clock_pct(tr, t0_us, t1_us):
    """Share of the 1 ms windows in which clk_sys ran at under half its 125 MHz: MicroPython's
    light sleep runs the chip from the 12 MHz crystal with the PLLs off."""
    cpu = [c for c in tr.cpu() if t0_us <= c[0] <= t1_us]
    tot = [(b1 - b0) + (i1 - i0) for (t0, b0, i0), (t1, b1, i1) in zip(cpu, cpu[1:])]
    slow = sum(1 for (a, b), n in zip(zip(cpu, cpu[1:]), tot) if n < (b[0] - a[0]) * CLK_HZ / 2e6)
    return round(100.0 * slow / len(tot), 1) if tot else None


def in_light_sleep(tr, t_us):
    """True when t_us falls in a 1 ms window whose clk_sys ran slow (a light sleep, as
    slow_clock_pct counts them)."""
    cpu = tr.cpu()
    k = bisect.bisect_right([c[0] for c in cpu], t_us)
    if k == 0 or k >= len(cpu):
        return False
    (a, b0, i0), (b, b1, i1) = cpu[k - 1], cpu[k]
    return (b1 - b0) + (i1 - i0) < (b - a) * CLK_HZ / 2e6


def cpu_figures(tr, t0_us, t1_us):
    w = busy_windows(tr, t0_us, t1_us)
    return {
        "awake_time_pct": awake_time_pct(tr, t0_us, t1_us),
        "light_sleep_pct": slow_clock_pct(tr, t0_us, t1_us),
        "pico_busy_pct_median": round(statistics.median(w), 1) if w else None,
        "pico_busy_pct_max": round(max(w), 1) if w else None,
        "busy_pct_mean": round(statistics.mean(w), 1) if w else None,
        "wakeups_per_s": _round(wakeups_per_s(tr, t0_us, t1_us)),
    }


def _round(x, n=1):
    return None if x is None else round(x, n)


def section_ms(tr, sid, t0_us=0, t1_us=float("inf")):
    """Durations (ms) of the probe's marker sections with id sid that ended in [t0, t1]."""
    return [
        (c - MARKER_CYCLES) * 1000 / CLK_HZ for t, c, _ in tr.sections(sid) if t0_us <= t <= t1_us
    ]


def step_ms(tr, sids, t0_us=0, t1_us=float("inf"), less_irqs=True):
    """Durations (ms) of the sections with an id in sids (one id or several) that ended in
    [t0, t1], but those inside another of them (a slice run from within a longer one: its
    marker pair is taken out of the longer one), less the Multi port's RX-idle IRQ sections
    (another context) that ran inside each, with their marker pairs (less_irqs=False: kept
    in)."""
    sids = (sids,) if isinstance(sids, int) else sids
    secs = [s for i in sids for s in tr.section_cycles(i)]
    irqs = tr.section_cycles(S_RX_IRQ) if less_irqs else []
    out = []
    for t, a, b in secs:
        if not t0_us <= t <= t1_us:
            continue
        inside = [(c, d) for _, c, d in secs if a <= c and d <= b and (c, d) != (a, b)]
        if any(c <= a and b <= d and (c, d) != (a, b) for _, c, d in secs):
            continue
        nested = sum(d - c + MARKER_CYCLES for _, c, d in irqs if a <= c and d <= b)
        nested += MARKER_CYCLES * len(inside)  # the probe's own markers around those slices
        out.append((b - a - nested - MARKER_CYCLES) * 1000 / CLK_HZ)
    return out


def check_in_gaps_ms(tr, t0_us=0, t1_us=float("inf")):
    """{task name: the longest gap (ms) between two of its watchdog check-ins in [t0, t1]}."""
    out = {}
    for i, name in enumerate(TASK_NAMES):
        ts = [t for t, _, _ in tr.sections(S_CHECK_IN + i) if t0_us <= t <= t1_us]
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        out[name] = round(max(gaps) / 1000, 1) if gaps else None
    return out


def decode_window_pct(tr, windows_ms, sid=S_FEED):
    """Largest decode share of a saturated window: BmsRole.feed cycles for its bytes (the
    window and the 20 ms after it, in which the bus task reads them) / 20 ms of cycles.
    sid=S_BUS: the same for the whole bus task step (UART reads, echo, decode, transmit)."""
    worst = None
    for t0, t1 in windows_ms:
        ms = sum(section_ms(tr, sid, t0 * 1000, (t1 + 20) * 1000))
        pct = 100.0 * ms / 20
        worst = pct if worst is None else max(worst, pct)
    return _round(worst)


def heap_free(console):
    for line in console.splitlines():
        if line.startswith("PROBE heap free="):
            return int(line.split("=")[1].split()[0])
    return None


def slot_counters(console):
    """{"slots_late": Rs485.slots_late, "slots_missed": BmsRole.slots_missed} as the probe
    printed them at its heap trigger ({} if it did not)."""
    for line in console.splitlines():
        if line.startswith("PROBE slots "):
            return {"slots_" + k: int(v) for k, v in (w.split("=") for w in line.split()[2:])}
    return {}
