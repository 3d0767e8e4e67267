"""The firmware on the emulated Pico (tools/pico, ../shared/rp2emu): device figures.

Runs of the deployed image with the probe (tools/pico/probe/main.py: cycle markers, trigger
pins): the "normal" scenario (9 emulated s: full Multi traffic with saturated windows, a GX probe,
BTV edges), "remote", "hang-task" and "hang-busy"; the heap from a run of its own with the heap
probe (probe/heap.py at boot.py's end: the reading alone, no markers, main.py run as deployed;
"normal"'s stimulus up to the same trigger, ~20 s wall). Times come from the trace's emulated
timestamps and the cycle markers, never from the firmware's clock. Definitions:
tools/pico/figures.py. Goals (GOALS, printed beside each figure) are those of
tools/pico/figures.GOALS.

pico_heap_free_bytes          gc.mem_free() after gc.collect(), whole app, full traffic (the
                              heap probe's run: what the app leaves free on a board)
full_probe_heap_free_bytes    the same reading in "normal", with the full probe (its markers and
                              wrappers in; main.py imported as a module, see docs/bench-testing.md)
pico_busy_pct_median / _max   busy share of each 20 ms window, 3 s .. 7.6 s of "normal"
pico_decode_full_window_pct   BmsRole.feed's cycles for a saturated 20 ms window / 20 ms
pico_bus_step_full_window_pct the same for the whole bus task step (reads, echo, decode, send)
pico_protect_step_max_ms      the longest slice of the protect step (from one await to the next:
                              figures.py), less the Multi port's RX-idle soft IRQs that
                              interrupted it (another context); protect_step_median_ms its median
protect_step_with_irq_max_ms  the same with those IRQs' cycles left in
inputs_step_max_ms            the longest inputs task step (the protect step's read and decision
                              after a debounced change included), less those IRQs
check_in_gap_ms_<task>        the longest gap between two watchdog check-ins of each task, in
                              "normal" and in "remote" (low power: remote off, the Multi off)
pico_log_step_max_ms          the longest App.log_step (event log and latch record to flash)
pico_slot_offset_us_max       our frame's start - the sync's end, largest; pico_slot_jitter_us
                              largest - smallest
pico_de_release_us_max        DE low - our last stop bit, largest
pico_bus_overlap_bytes        the Multi's bytes on the wire while our driver was enabled
pico_slots_late               frames not sent, their slot over (Rs485.slots_late: a frame
                              would have started over 2 ms after the sync's end), and
pico_slots_missed             slots left unused with a frame due (BmsRole.slots_missed), both
                              read by the probe at its heap trigger (7.7 s into "normal")
pico_btv_edge_to_output_ms    the slowest of the BTV edges' output changes
pico_hang_to_outputs_floating_ms  the slower of a stopped task and a busy loop
Without an emulator here: no figures, one line on stderr saying why.
"""

import statistics
import sys

from tools.pico import emu
from tools.pico import figures as fg
from tools.pico import scenarios as sc

GOALS = fg.GOALS


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run():
    try:
        emu.find_tools()
    except emu.PicoSkip as e:
        log("bench_pico: skipped: %s" % e)
        return {}
    normal = sc.normal(log=log)
    tr = normal.run.trace
    t0, t1 = normal.spans["normal"]
    out = {"pico_heap_free_bytes": sc.heap_free(log=log)}
    out["full_probe_heap_free_bytes"] = fg.heap_free(normal.run.console)
    cpu = fg.cpu_figures(tr, t0 * 1000, t1 * 1000)
    out["pico_busy_pct_median"] = cpu["pico_busy_pct_median"]
    out["pico_busy_pct_max"] = cpu["pico_busy_pct_max"]
    out["pico_decode_full_window_pct"] = fg.decode_window_pct(tr, normal.stim.saturated)
    out["pico_bus_step_full_window_pct"] = fg.decode_window_pct(
        tr, normal.stim.saturated, fg.S_BUS
    )
    steps = fg.step_ms(tr, fg.S_PROTECT_SLICES, t0 * 1000, t1 * 1000)
    out["pico_protect_step_max_ms"] = round(max(steps), 3) if steps else None
    out["protect_step_median_ms"] = round(statistics.median(steps), 3) if steps else None
    steps = fg.step_ms(tr, fg.S_PROTECT_SLICES, t0 * 1000, t1 * 1000, False)
    out["protect_step_with_irq_max_ms"] = round(max(steps), 3) if steps else None
    steps = fg.step_ms(tr, fg.S_INPUTS, t0 * 1000, t1 * 1000)
    out["inputs_step_max_ms"] = round(max(steps), 3) if steps else None
    logs = fg.section_ms(tr, fg.S_LOG, t0 * 1000, t1 * 1000)
    out["pico_log_step_max_ms"] = round(max(logs), 3) if logs else None
    slots = fg.slot_figures(tr)
    for k in (
        "pico_slot_offset_us_max",
        "pico_slot_jitter_us",
        "pico_de_release_us_max",
        "pico_bus_overlap_bytes",
    ):
        out[k] = slots[k]
    counters = fg.slot_counters(normal.run.console)
    for k in ("slots_late", "slots_missed"):
        out["pico_" + k] = counters.get(k)
    edges = [c.value for c in normal.checks if c.name.startswith("BTV GPIO")]
    out["pico_btv_edge_to_output_ms"] = (
        None if not edges or None in edges else round(max(e for e in edges if e is not None), 1)
    )
    gaps = fg.check_in_gaps_ms(tr, 3000_000)  # after the boot check and start-up
    for name, ms in fg.check_in_gaps_ms(sc.remote(log=log).run.trace, 3000_000).items():
        both = [g for g in (ms, gaps[name]) if g is not None]
        out["check_in_gap_ms_" + name] = max(both) if both else None
    hangs = [sc.hang(busy, log=log).checks[-1].value for busy in (False, True)]
    out["pico_hang_to_outputs_floating_ms"] = (
        None if None in hangs else round(max(h for h in hangs if h is not None), 1)
    )
    return out
