"""The relay between the BMS's two VE.Bus ports: how late a frame reaches the other side.

`relay_latency_ms_p99`, `relay_latency_ms_max`: virtual ms from a frame's arrival at one port to
the start of its copy on the other (tools/sim/relaytap.py), both directions together, with the
unmodified firmware in the simulator at the bus's full load: the Multi's traffic on a full bus
(a sync every 20 ms, its 0xE4 after each, 0x41 and 0x80 each second, Winmon replies) and an
active GX on the Remote panel port (its probe, a switch command, and a Winmon poll always out:
tools/sim/panel.py). Per direction too (`_to_multi`, `_to_panel`) and the number of frames.

Goals, from the bus (docs/protocol.md, the sync frame): a controller's frame is valid only in the
slot after a sync (SLOT_MS, firmware/bms/role.py), so a panel frame should go out on the Multi
side in the next slot after it arrived, as it would from a controller wired to the Multi: within
one sync period plus the slot, 23 ms (p99). The worst may wait for the slot after that, when the
BMS's own frame (its status, a probe answer) needs the next one: 43 ms (max). The other way, the
Multi's frames reach the panel devices before the next sync (20 ms, p99), so their slots line up
with the Multi's.
"""

import json

import tools.sim  # noqa: F401  (board import path, MicroPython shims)
from firmware.bms.role import SLOT_MS
from tools.sim import scenario
from tools.sim.relaytap import RelayTap, percentile
from tools.sim.runner import Sim

SYNC_MS = 20
NEXT_SLOT_MS = SYNC_MS + SLOT_MS
DURATION_S = 120
LOAD: dict = {
    "name": "bench: relay at full load",
    "duration_s": DURATION_S,
    "settings": {"vebus_mode": "bms"},
    "system": {"panel": "gx"},
    "inputs": [{"t": 0, "load_a": 10}, {"t": 30, "gx_command": "on"}],
}
GOALS = {
    "relay_latency_ms_p99": ("<=", NEXT_SLOT_MS),
    "relay_latency_ms_max": ("<=", SYNC_MS + NEXT_SLOT_MS),
    "relay_latency_ms_p99_to_multi": ("<=", NEXT_SLOT_MS),
    "relay_latency_ms_p99_to_panel": ("<=", SYNC_MS),
    "relay_frames_to_multi": (">=", DURATION_S * 10),  # the GX's polls got through
    "relay_frames_to_panel": (">=", DURATION_S * 50 * 2),  # every sync and 0xE4
}


def measure(doc=LOAD):
    scn = scenario.parse(json.loads(json.dumps(doc)))
    sim = Sim(scn, fidelity="full")
    taps = []
    sim.at(0.0, lambda: taps.append(RelayTap(sim)))
    sim.run()
    return taps[0]


def _ms(v):
    return None if v is None else round(v, 2)


def run():
    tap = measure()
    to_m, to_p = tap.latency_ms["to_multi"], tap.latency_ms["to_panel"]
    both = to_m + to_p
    return {
        "relay_latency_ms_p99": _ms(percentile(both, 99)),
        "relay_latency_ms_max": _ms(max(both) if both else None),
        "relay_latency_ms_p99_to_multi": _ms(percentile(to_m, 99)),
        "relay_latency_ms_max_to_multi": _ms(max(to_m) if to_m else None),
        "relay_latency_ms_p99_to_panel": _ms(percentile(to_p, 99)),
        "relay_latency_ms_max_to_panel": _ms(max(to_p) if to_p else None),
        "relay_frames_to_multi": len(to_m),
        "relay_frames_to_panel": len(to_p),
    }


if __name__ == "__main__":
    print(json.dumps(run()))
