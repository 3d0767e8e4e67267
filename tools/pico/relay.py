"""The relay between the two VE.Bus ports on the emulated Pico: its scenario and its figures.

The Multi's full traffic on UART0 (stim.multi: syncs, AC info, LED/condition frames, saturated
windows) and a GX at full traffic on UART1, the Remote panel port (stim.gx: its BMS probe, Winmon
requests in the slot after the relayed syncs; the Multi answers them on UART0). What a bench
tester with a logic analyser on both ports checks (docs/protocol.md, "Between the two ports",
and the manual 3.5: the GX on the Remote panel port sees the Multi and the BMS):
  - the Multi's frames appear on UART1 unchanged and in their order, none missing;
  - the panel port's DE falls within 100 us of its last stop bit, no byte goes out with DE low,
    and it never drives the panel bus while the GX is sending (the GX's slot is kept free);
  - each GX request reaches UART0 in the BMS's slot: right after a sync, numbered sync + 1;
  - the GX's probe is answered on UART1, where it came from;
  - the Multi side keeps its slot offset and DE release; no overrun, no reset, no traceback.

Figures (emulated time only, from the trace and run.mjs's cpu records, never the firmware's
clock): pico_relay_latency_ms_max (a Multi frame's last stop bit on UART0 -> its first start bit
on UART1), pico_panel_de_release_us_max, and pico_relay_busy_pct: the busy median (20 ms
windows) with the GX at full traffic minus the same run with the panel port idle (no GX, so no
answers to it either): the GX's frames read and decoded, the Multi's answers relayed to it, and
the BMS's slot frames that carry its requests to the Multi (35-45 % of the figure:
docs/bench-testing.md). Relaying the Multi's own frames to the idle panel port is in both runs,
so it is not in that difference but in pico_busy_pct_median_panel_idle.

Both ports' transceivers echo what their UART sends (ECHO). run.mjs's --rs485-echo takes one
UART, so these runs use its copy that takes two (emu.echo_runner). With UART0's echo only, the
panel port's driver waits ECHO_MS for an echo that never comes after every frame it sends, and
the relay falls behind by seconds: that is the emulator, not the board.
"""

import bisect
import statistics

from firmware.hw.board_pico import PROFILE
from tools.pico import emu
from tools.pico import figures as fg
from tools.pico import scenarios as sc
from tools.pico.trace import BYTE_US
from vebus import ADDR_MULTI, next_frame_no
from vebus import catalogue as cat

PANEL_UART, PANEL_DE = PROFILE["bus"][1][1], PROFILE["bus"][1][4]
MULTI_UART = fg.MULTI_UART
MULTI_HEADER = ADDR_MULTI.to_bytes(2, "big")  # 83 83
END_MS = 10000
GX_FROM_MS = 3000  # the app runs from ~0.8 s and has the outputs on by ~3.3 s
SPAN = (3500, END_MS - 200)  # the CPU figures' span
SATURATE_AT = 4000  # saturated windows at 4 s and 9 s
# tests/host/test_pico.py's smoke: 4 emulated s, the GX from 2 s (the relay runs from ~1.4 s),
# one saturated window at 3 s
SMOKE = {"end": 4000, "gx_from": 2000, "saturate_at": 3000}
# The static GX cannot follow the relay's jitter: in the few syncs relayed later than it
# assumes, its frame comes before the sync it answers (and collides with it); these are left
# out of the relay's checks, and may be at most this share of its frames.
EARLY_PCT = 5
ECHO = (MULTI_UART, PANEL_UART)  # a transceiver on each port, each hearing its own bytes
SETTINGS = dict(sc.SETTINGS, panel_port=True)  # the other scenarios run the Multi port only
D_NO_RELAY = "the firmware does not relay between the ports yet"
GOALS = {
    # Within one sync period: a relayed sync older than that reaches the panel devices after
    # the Multi's next sync, and what they answer to it is numbered for a slot already gone.
    "pico_relay_latency_ms_max": ("<=", 20),
    "pico_panel_de_release_us_max": ("<=", 100),  # as the Multi port's (figures.GOALS)
    # A quarter of the whole app's busy-share budget (pico_busy_pct_median <= 20).
    "pico_relay_busy_pct": ("<=", 5),
}


def stimulus(gx=True, end=END_MS, gx_from=GX_FROM_MS, saturate_at=SATURATE_AT):
    s = sc.base(end, saturate_at=saturate_at)
    if gx:
        s.gx(gx_from, end - 200)
    return s


def run(name="relay", gx=True, log=None, **kw):
    s = stimulus(gx, **kw)
    end = kw.get("end", END_MS)
    r = emu.run(name, s, end, settings=SETTINGS, cpu_window_ms=1, echo=ECHO, log=log)
    return r, s


# ---- figures ----
def relayed(tr, from_us=0):
    """Match the frames the Multi sent (UART0) with the Multi-addressed frames we sent on
    UART1, in order: (pairs [(multi frame, panel frame)] of the Multi frames that ended from
    from_us on, frames on UART1 that are no Multi frame in its order (changed, invented or
    reordered; whole run), Multi frames skipped from from_us between the first and the last
    relayed one)."""
    multi = tr.frames(MULTI_UART, sent=False)
    # by the header bytes, not the decoded address: a frame garbled on the way decodes to none
    panel = [f for f in tr.frames(PANEL_UART) if f.data[:2] == MULTI_HEADER]
    pairs, foreign, j = [], 0, 0
    for p in panel:
        k = j  # the same bytes come back every 128 syncs: only one that ended before p
        while k < len(multi) and multi[k].end_us < p.start_us and multi[k].data != p.data:
            k += 1
        if k == len(multi) or multi[k].end_us >= p.start_us:
            foreign += 1
            continue
        pairs.append((k, p))
        j = k + 1
    pairs = [(k, p) for k, p in pairs if multi[k].end_us >= from_us]
    skipped = pairs[-1][0] - pairs[0][0] + 1 - len(pairs) if pairs else 0
    return [(multi[k], p) for k, p in pairs], foreign, skipped


def latencies_ms(pairs):
    return [(p.start_us - m.end_us) / 1000 for m, p in pairs]


def de_figures(tr, uart=PANEL_UART, pin=PANEL_DE):
    """(DE releases in us: each DE fall - the last stop bit sent while it was high; bytes sent
    with DE low, lost on a real bus)."""
    de = fg.de_high_intervals(tr, pin)
    sent = tr.tx_bytes(uart)
    releases, outside = [], 0
    for t, _ in sent:
        if not any(lo <= t and t + BYTE_US <= hi for lo, hi in de):
            outside += 1
    for lo, hi in de:
        last = [t for t, _ in sent if lo <= t < hi]
        if last and hi != float("inf"):
            releases.append(hi - (last[-1] + BYTE_US))
    return releases, outside


def gx_delivery(tr, stim, early):
    """Each GX request (Winmon, not the probe; not early) -> our frame with its payload on
    UART0: counts of (requests, delivered, numbered sync + 1, in the slot: after the sync and
    over before the Multi's next byte), and the longest GX frame end -> its start on UART0 (ms)."""
    syncs = tr.rx_syncs(MULTI_UART)
    multi = [a for a, _ in tr.wire(MULTI_UART)]
    ours = [f for f in tr.frames(MULTI_UART) if f.payload]
    used = set()
    n = got = numbered = in_slot = 0
    worst = None
    for k, (_, end_ms, _, pay) in enumerate(stim.gx_sent):
        if pay[0] != cat.MSG_WINMON or k in early:
            continue
        n += 1
        end = end_ms * 1000
        for i, f in enumerate(ours):
            if i in used or f.start_us < end or f.payload != pay:
                continue
            if f.start_us > end + 200_000:
                break
            used.add(i)
            got += 1
            before = [s for s in syncs if s[0] <= f.start_us]
            if before:
                numbered += f.frame_no == next_frame_no(before[-1][1])
                nxt = bisect.bisect_left(multi, f.start_us)
                in_slot += nxt == len(multi) or multi[nxt] >= f.end_us
            d = (f.start_us - end) / 1000
            worst = d if worst is None else max(worst, d)
            break
    return n, got, numbered, in_slot, worst


def gx_early(tr, stim):
    """GX frames (stim.gx_sent's indices) that started before the sync they answer had been
    relayed to UART1: the static stimulus assumes the relay's latency; a real GX would not have
    answered then, so these say nothing of the relay."""
    syncs = [f for f in tr.frames(PANEL_UART) if f.sync]
    early = set()
    for i, (t0_ms, _, no, _) in enumerate(stim.gx_sent):
        t0 = t0_ms * 1000
        before = [f for f in syncs if f.end_us <= t0]
        if not before or before[-1].frame_no != no:
            early.add(i)
    return early


def gx_overlap(tr, stim, early):
    """Bytes of the GX's frames (those not early) on the panel wire while our DE was high: the
    relay driving the panel bus in the slot it should leave to the devices."""
    de = fg.de_high_intervals(tr, PANEL_DE)
    spans = [(a * 1000, b * 1000) for i, (a, b, _, _) in enumerate(stim.gx_sent) if i not in early]
    n = 0
    for a, b in tr.wire(PANEL_UART):
        if any(s0 <= a < s1 for s0, s1 in spans) and any(a < hi and b > lo for lo, hi in de):
            n += 1
    return n


def figures(tr, from_ms=GX_FROM_MS):
    pairs, foreign, skipped = relayed(tr, from_ms * 1000)
    lat = latencies_ms(pairs)
    rel, outside = de_figures(tr)
    return {
        "relayed": len(pairs),
        "foreign": foreign,
        "skipped": skipped,
        "pico_relay_latency_ms_max": round(max(lat), 2) if lat else None,
        "pico_relay_latency_ms_median": round(statistics.median(lat), 2) if lat else None,
        "pico_relay_latency_ms_p99": round(sorted(lat)[len(lat) * 99 // 100], 2) if lat else None,
        "pico_panel_de_release_us_max": round(max(rel)) if rel else None,
        "panel_bytes_de_low": outside,
    }


def busy_median(tr):
    return fg.cpu_figures(tr, SPAN[0] * 1000, SPAN[1] * 1000)["pico_busy_pct_median"]


def _goal(figs, key, defect=None, more=""):
    v = figs[key]
    op, goal = GOALS[key]
    ok = v is not None and (v <= goal if op == "<=" else v >= goal)
    return sc.Check(
        "%s goal %s %s" % (key, op, goal), ok, "%s %s" % (v, more), None if ok else defect
    )


# ---- the scenario ----
def scenario(log=None, smoke=False):
    """Both ports at full traffic: the Multi's frames relayed to the panel, a GX's to the slot."""
    kw = SMOKE if smoke else {}
    r, s = run("relay-smoke" if smoke else "relay", True, log, **kw)
    tr = r.trace
    f = figures(tr, kw.get("gx_from", GX_FROM_MS))
    none = None if f["relayed"] else D_NO_RELAY
    early = gx_early(tr, s)
    n, got, numbered, in_slot, worst = gx_delivery(tr, s, early)
    probes = [t0 for t0, _, _, pay in s.gx_sent if pay[0] == cat.MSG_PROBE]
    answers = fg.probe_answers(tr, probes[0] * 1000, PANEL_UART) if probes else []
    overlap = gx_overlap(tr, s, early)
    checks = sc.health_checks(r) + [
        sc.Check(
            "the Multi's frames relayed to UART1 unchanged, in their order",
            f["relayed"] and not f["foreign"],
            "%d relayed, %d on UART1 not in the Multi's order" % (f["relayed"], f["foreign"]),
            none,
        ),
        sc.Check(
            "no Multi frame left out (from the first relayed one)",
            f["relayed"] and not f["skipped"],
            "%d skipped" % f["skipped"],
            none,
        ),
        _goal(
            f,
            "pico_relay_latency_ms_max",
            none,
            "median %s ms" % f["pico_relay_latency_ms_median"],
        ),
        _goal(f, "pico_panel_de_release_us_max", none),
        sc.Check(
            "no byte sent on UART1 with its DE low",
            not f["panel_bytes_de_low"],
            "%d bytes" % f["panel_bytes_de_low"],
        ),
        sc.Check(
            "the panel bus left to the GX in its slot (GX bytes on the wire while DE high)",
            f["relayed"] and not overlap,
            "%d bytes" % overlap,
            none,
        ),
        sc.Check(
            "the stimulus' GX answered at most %d %% of the syncs before they were relayed"
            % EARLY_PCT,
            f["relayed"] and len(early) * 100 <= EARLY_PCT * len(s.gx_sent),
            "%d of %d GX frames came before their sync on UART1 (stim.GX_AFTER_SYNC_MS)"
            % (len(early), len(s.gx_sent)),
            none,
        ),
        sc.Check(
            "every GX request on UART0 in the BMS's slot, renumbered sync + 1",
            n and got == numbered == in_slot == n,
            "%d requests (the early ones left out): %d on UART0, %d numbered sync + 1, %d over"
            " before the Multi's next byte; slowest %s ms after the GX sent it"
            % (n, got, numbered, in_slot, worst and round(worst, 1)),
            none,
        ),
        sc.Check(
            "the GX's probe answered on UART1, the port it came from, within 200 ms",
            answers and answers[0] - probes[0] * 1000 <= 200_000,
            "answer at %s ms" % (round(answers[0] / 1000, 1) if answers else None),
            none,
        ),
    ]
    checks += sc.bus_checks(r)  # the Multi side: slot offset, jitter, DE, overlap
    return sc.Result(r, checks, s, {"both ports at full traffic": (SPAN[0], r.emulated_ms - 200)})


def bench(log=None):
    """make bench: the relay's figures; the busy share from this run and a panel-idle one.
    {} and one line when the firmware does not relay (the idle run is then not made)."""
    res = scenario(log)
    f = figures(res.run.trace)
    if not f["relayed"]:
        if log:
            log("bench_relay_pico: Pico figures skipped: " + D_NO_RELAY)
        return {}
    busy = busy_median(res.run.trace)
    idle, _ = run("relay-panel-idle", False, log)
    busy_idle = busy_median(idle.trace)
    out = {k: f[k] for k in GOALS if k in f}
    out["pico_relay_latency_ms_median"] = f["pico_relay_latency_ms_median"]
    out["pico_relay_latency_ms_p99"] = f["pico_relay_latency_ms_p99"]
    out["pico_busy_pct_median_panel_idle"] = busy_idle
    out["pico_busy_pct_median_relay"] = busy
    out["pico_relay_busy_pct"] = (
        None if busy is None or busy_idle is None else round(busy - busy_idle, 1)
    )
    return out
