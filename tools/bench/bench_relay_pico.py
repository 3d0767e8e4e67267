"""The relay between the Multi port and the Remote panel port: its figures.

relay_alloc_bytes_per_frame   VM (unix port): heap bytes per relayed frame, both ways, through the
                              app's own steps (tests/test_panel_bad.relay_rig: UARTs that
                              allocate nothing), gc.mem_alloc with the collector off, 200 syncs
On the emulated Pico (tools/pico/relay.py: both ports at full traffic, 10 emulated s; and the
same with the panel port idle), from the trace and run.mjs's cpu records:
pico_relay_latency_ms_max     a Multi frame's last stop bit on UART0 -> its first start bit on
  / _p99 / _median            UART1, from 3 s (the app's start-up left out)
pico_panel_de_release_us_max  the panel port's DE fall - its last stop bit
pico_relay_busy_pct           busy median (20 ms windows) with the GX at full traffic - the same
                              run with the panel port idle
pico_busy_pct_median_panel_idle / _relay   the two medians
Without an emulator: no Pico figures, one line on stderr saying why.
"""

import sys

from tools.bench.vm import run_vm_script
from tools.pico import emu, relay

GOALS = dict(relay.GOALS, relay_alloc_bytes_per_frame=("==", 0))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(report=None):
    out = run_vm_script(VM_CODE, heapsize="256k")  # the test module's rig on top of the app
    if not out["relayed_frames"]:
        log("bench_relay_pico: relay_alloc_bytes_per_frame skipped: " + relay.D_NO_RELAY)
        del out["relay_alloc_bytes_per_frame"]
    if report:
        report(out)
    try:
        emu.find_tools()
    except emu.PicoSkip as e:
        log("bench_relay_pico: Pico figures skipped: %s" % e)
        return out
    out.update(relay.bench(log))
    return out


VM_CODE = """
import json
from vmtest import alloc_bytes, fresh_root
import gc
import test_panel_bad as rig
rig._fresh()
gc.collect()
app, cycles = rig.relay_rig(fresh_root("relay-bench"))
cycles(300)
r = app.role.relay
before = r.relayed[0] + r.relayed[1] if r else 0
grew = alloc_bytes(cycles, 200)
n = r.relayed[0] + r.relayed[1] - before if r else 0
print(json.dumps({
    "relay_alloc_bytes_per_frame": round(grew / n, 2) if n else None,
    "relayed_frames": n,
    "relay_alloc_bytes": grew,
}))
"""
