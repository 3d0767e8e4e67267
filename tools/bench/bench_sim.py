"""The simulator's speed: simulated seconds per wall-clock second on CPython.

`sim_x_real_time`: a 24 h scenario (scenarios/demo.json's day stretched to 24 h: discharge,
AC back, recharge, balancing) through tools/sim with the unmodified firmware, in the simulator's
default configuration for a run that long ("auto": fast bus, a sync every 200 ms; the default
scheduler). Measured with time.process_time (CPU seconds of this process), so other processes on
the machine do not change the number; the wall-clock figure is reported beside it.
`sim_x_real_time_full_bus`: the same on the full bus (a sync every 20 ms), over 1 h.
`sim_firmware_wakeups_per_sim_s`: how often the firmware's tasks run per simulated second,
the work that bounds the speed.
"""

import json
import time

import tools.sim  # noqa: F401  (board import path, MicroPython shims)
from tools.sim import scenario
from tools.sim.runner import Sim

DAY: dict = {
    "name": "bench: 24 h",
    "duration_s": 86400,
    "system": {"batteries": 1, "soc": 0.3},
    "inputs": [
        {"t": 0, "load_a": 40, "charge_a": 6, "ac_in": False},
        {"t": 6480, "ac_in": True, "load_a": 8, "charge_a": 0},
        {"t": 18000, "load_a": 3},
        {"t": 43200, "ac_in": False, "load_a": 12},
        {"t": 64800, "ac_in": True, "load_a": 5},
    ],
}


def _measure(doc, fidelity):
    scn = scenario.parse(json.loads(json.dumps(doc)))
    sim = Sim(scn, fidelity=fidelity)
    c0, w0 = time.process_time(), time.monotonic()
    sim.run()
    cpu, wall = time.process_time() - c0, time.monotonic() - w0
    return scn.duration_s, cpu, wall, sim


GOALS = {"sim_x_real_time": (">=", 10000)}


def run(report=None):
    dur, cpu, wall, sim = _measure(DAY, "auto")
    out = {
        "sim_x_real_time": round(dur / cpu, 1),
        "sim_x_real_time_wall": round(dur / wall, 1),
        "sim_firmware_wakeups_per_sim_s": round(sim.loop.wakeups / dur, 1),
        "sim_bench_fidelity": sim.fidelity,
    }
    if report:
        report(out)
    hour: dict = dict(DAY, name="bench: 1 h full bus", duration_s=3600)
    hour["inputs"] = [r for r in DAY["inputs"] if r["t"] <= 3600]
    dur_f, cpu_f, _wall_f, _ = _measure(hour, "full")
    out["sim_x_real_time_full_bus"] = round(dur_f / cpu_f, 1)
    return out


if __name__ == "__main__":
    print(json.dumps(run()))
