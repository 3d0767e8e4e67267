"""The simulator's two VE.Bus segments: which device sits on which of the BMS's ports, what each
can hear there, and the relay tap that times what crosses the BMS (tools/sim/relaytap.py).

The wiring is the manual's (3.5: the GX on the Remote panel port; 3.6: a DMC or a VE.Bus Smart
dongle there too; docs/hardware.md 9.5: with a DMC, a GX sits on the Multi
port). A device on the panel segment hears the Multi only through the BMS.
"""

import json

import pytest

from tools.sim import fwhost, plot, scenario
from tools.sim.bus import Segment
from tools.sim.relaytap import RelayTap, percentile
from tools.sim.runner import Sim
from vebus import ADDR_CONTROLLER, ADDR_MULTI, Decoder, encode_data, encode_sync, peers
from vebus import catalogue as cat


def _sim(panel, duration=6.0, inputs=(), gx=True):
    doc = {
        "name": "panel %s" % panel,
        "duration_s": duration,
        "settings": {"vebus_mode": "bms"},
        "system": {"panel": panel, "gx": gx},
        "inputs": list(inputs),
    }
    return Sim(scenario.parse(json.loads(json.dumps(doc)), fwhost.check_settings), "full")


@pytest.mark.parametrize(
    "panel, gx, multi_port, panel_port",
    [
        ("none", True, ["Multi", "GX"], []),
        ("none", False, ["Multi"], []),
        ("gx", True, ["Multi"], ["GX"]),
        ("dmc", True, ["Multi", "GX"], ["DMC"]),  # docs/hardware.md 9.5
        ("dongle", True, ["Multi", "GX"], ["Smart dongle"]),
        ("gx+dmc", True, ["Multi"], ["GX", "DMC"]),
    ],
)
def test_each_device_on_the_port_the_scenario_wires_it_to(panel, gx, multi_port, panel_port):
    sim = _sim(panel, duration=1.0, gx=gx)
    sim.run()
    ports = sim.summary()["bus"]["ports"]
    assert ports == {"multi": multi_port, "panel": panel_port}
    line = plot.ports_line(ports)  # under the timeline's title
    assert line.startswith("MultiPlus/Quattro port: " + ", ".join(multi_port))
    assert line.endswith("Remote panel port: " + (", ".join(panel_port) or "-"))


def test_a_panel_device_hears_only_what_the_bms_puts_on_its_panel_port():
    sim = _sim("gx+dmc", inputs=[{"t": 1, "gx_command": "off"}])
    written = {"multi": 0, "panel": 0}
    decoders = {}

    def tap(seg, src, data):
        if src in (sim.fw_multi, sim.fw_panel):
            decoders[seg.name].feed(data)

    def arm():
        for seg in (sim.seg_multi, sim.seg_panel):
            decoders[seg.name] = Decoder(
                lambda f, s=seg.name: written.__setitem__(s, written[s] + 1)
            )
            seg.taps.append(tap)

    sim.at(0.0, arm)
    sim.run()
    kinds = sim.summary()["bus"]["frames_by_type"]
    # the GX heard the BMS's panel port and the DMC beside it, nothing else
    assert sum(kinds["heard_by_gx"].values()) == written["panel"] + sum(
        kinds["sent_by_dmc"].values()
    )
    # the Multi heard the BMS's Multi port and nothing of the panel devices
    assert sum(kinds["heard_by_multi"].values()) == written["multi"] > 0


def test_a_looped_cable_joins_the_two_segments_while_it_is_plugged():
    sim = _sim(
        "gx", duration=4.0, inputs=[{"t": 1, "panel_fault": "loop"}, {"t": 3, "panel_fault": None}]
    )
    syncs = []
    sim.at(2.0, lambda: syncs.append(sim.nodes[1][1].heard.get("sync", 0)))
    sim.at(2.5, lambda: syncs.append(sim.nodes[1][1].heard.get("sync", 0)))
    sim.run()
    assert syncs[1] - syncs[0] >= 24  # the Multi's own syncs reach the GX directly (20 ms)
    assert sim.seg_panel.peer is None  # unplugged again at 3 s


def test_a_flooding_panel_device_fills_the_panel_wire_only_while_it_floods():
    sim = _sim(
        "gx",
        duration=3.0,
        inputs=[{"t": 1, "panel_fault": "flood"}, {"t": 2, "panel_fault": None}],
    )
    sim.run()
    sent = sim.summary()["bus"]["frames_by_type"]["sent_by_flood"]["winmon"]
    assert 1900 <= sent <= 2100  # one frame every 0.5 ms for 1 s


class _Loop:
    t = 0.0

    def time(self):
        return self.t


class _FakeSim:
    """Just what RelayTap reads: the two segments, the firmware's ports on them, the clock."""

    def __init__(self):
        self.loop = _Loop()
        self.seg_multi = Segment("multi", None)
        self.seg_panel = Segment("panel", None)
        self.fw_multi, self.fw_panel = object(), object()


def _data(addr, n, payload):
    buf = bytearray(64)
    k = encode_data(buf, addr, n, bytearray(payload), len(payload))
    return bytes(buf[:k])


def test_the_relay_tap_times_a_copy_from_its_arrival_on_the_other_port():
    sim = _FakeSim()
    tap = RelayTap(sim)
    multi, gx = object(), object()
    sync = bytearray(16)
    p = bytearray(8)
    k = encode_sync(sync, 5, p, peers.build_sync(p, 0, 1234))
    sync = bytes(sync[:k])
    sim.seg_multi.send(multi, sync)  # the Multi's sync arrives at 0
    sim.loop.t = 0.0012
    sim.seg_panel.send(sim.fw_panel, sync)  # ... and goes out verbatim on the panel 1.2 ms later
    read = bytes((cat.MSG_WINMON, 0xE4, 0x30, 0x04))
    sim.loop.t = 0.002
    sim.seg_panel.send(gx, _data(ADDR_CONTROLLER, 6, read))  # the GX's poll for sync 5
    sim.loop.t = 0.0215
    sim.seg_multi.send(sim.fw_multi, _data(ADDR_CONTROLLER, 7, read))  # renumbered, next slot
    status = bytearray(16)
    n = cat.build_bms_status(status, True, True, False, False, 255, 0)
    sim.seg_multi.send(sim.fw_multi, _data(cat.BMS_ADDR, 7, status[:n]))  # its own frame
    sim.seg_panel.send(sim.fw_panel, _data(ADDR_MULTI, 7, bytes((0x80, 1, 2))))  # arrived nowhere
    assert [round(x, 3) for x in tap.latency_ms["to_panel"]] == [1.2]
    assert [round(x, 3) for x in tap.latency_ms["to_multi"]] == [19.5]
    assert tap.own == {"multi": 1, "panel": 1}


def test_percentile_nearest_rank():
    v = list(range(1, 101))
    assert percentile(v, 99) == 99 and percentile(v, 100) == 100 and percentile(v, 50) == 50
    assert percentile([7.0], 99) == 7.0 and percentile([], 99) is None
