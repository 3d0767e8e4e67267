"""The scenarios with devices on the BMS's Remote panel port, through the unmodified firmware.

Each asserts what a user sees: the Multi's mode and the switch commands it hears, the GX's
/Bms/ flags and DVCC limit, the firmware's own event log. The rules are the manual's: 3.5 (the GX
device on the Remote panel port; DVCC), 3.6 (a Digital Multi Control or a VE.Bus Smart dongle on
that port; with a DMC only the DMC switches the Multi), and its low-cell and remote on/off rules
(../shared/vebus.md, "What the seed manual fixes about the Multi's side"). A device on the panel
port hears the Multi only through the BMS (tools/sim/panel.py), so every flag the GX shows here
came across the BMS.
"""

from pathlib import Path

import pytest
from test_scenarios import at, changes, first

from tools.sim import fwhost, scenario
from tools.sim.runner import Sim
from vebus import Decoder, peers

ROOT = Path(__file__).resolve().parents[2]
SLOT_MS = 3.0  # a controller's frame starts at most this long after the sync (docs/protocol.md)
_cache = {}


class MultiSide:
    """What a sniffer on the Multi's segment sees of the BMS: when each sync and each of the
    BMS's frames started, and when the BMS's status frames went out."""

    def __init__(self, sim):
        self.sim = sim
        self.last_sync = None
        self.late = []  # (t, ms after the last sync) of a BMS frame outside the slot
        self.status_at = []
        self._bms = Decoder(self._bms_frame)
        self._others = Decoder(self._other_frame)  # the Multi's own frames
        sim.seg_multi.taps.append(self._tap)

    def _tap(self, seg, src, data):
        if src is self.sim.fw_multi:
            self._bms.feed(data)
        elif src is self.sim.multi_node:
            self._others.feed(data)

    def _other_frame(self, f):
        if f.is_sync():
            self.last_sync = self.sim.loop.time()

    def _bms_frame(self, f):
        now = self.sim.loop.time()
        p = f.payload
        if peers.is_bms_status(p, len(p)):
            self.status_at.append(now)
        if self.last_sync is not None and (now - self.last_sync) * 1000 > SLOT_MS:
            self.late.append((round(now, 3), round((now - self.last_sync) * 1000, 2)))

    def status_gap(self, t0, t1):
        ts = [t for t in self.status_at if t0 <= t <= t1]
        return max(b - a for a, b in zip(ts, ts[1:])) if len(ts) > 1 else None


def run(name):
    if name not in _cache:
        path = str(ROOT / "scenarios" / (name + ".json"))
        sim = Sim(scenario.load(path, settings_check=fwhost.check_settings), fidelity="full")
        side = []
        sim.at(0.0, lambda: side.append(MultiSide(sim)))
        sim.run()
        sim.multi_side = side[0]  # pyright: ignore[reportAttributeAccessIssue]
        _cache[name] = sim
    return _cache[name]


def heard(sim, after=0.0, before=1e12):
    """The switch commands the Multi heard (each change), in [after, before)."""
    return [(t, c) for t, c in sim.multi_node.switch_log if after <= t < before]


def sent(sim, device, kind):
    return sim.summary()["bus"]["frames_by_type"]["sent_by_" + device].get(kind, 0)


# Firmware defects these scenarios show (strict xfail: a fix makes the test pass and the marker
# must go).
D_DMC_GX = (
    "defect: with dmc_present the firmware takes every switch frame on the Remote panel port as "
    "the DMC's (firmware/bms/panel.py), so the GX beside the DMC switches the Multi; how a real "
    "DMC's frames differ from a GX's on the wire is not public"
)


def logged(sim, words, after=0.0, before=1e12):
    return [e["text"] for e in sim.events if after <= e["t"] < before and words in e["text"]]


def test_a_gx_on_during_a_low_cell_shutdown_reaches_the_multi_as_charger_only():
    # Manual 3.5 (the GX on the Remote panel port) and its low-cell rule: the Multi goes
    # charger-only 30 s after a low cell; the GX's "on" must never reach the Multi as "on".
    sim = run("panel_gx_low_cell")
    t_low = first(sim, "multi_mode", "charger_only", after=10)
    assert t_low is not None and 40 <= t_low <= 41
    assert sent(sim, "gx", "switch") >= 6  # asked at 60 s and repeated, through the BMS
    after_low = heard(sim, after=t_low - 0.5)
    assert after_low and {c for _t, c in after_low} <= {"charger_only", "off"}, after_low
    assert {v for _t, v in changes(sim, "multi_mode", after=t_low)} == {"charger_only"}
    assert at(sim, "gx_allow_to_discharge", 100) == 0  # what the GX shows: no discharge
    # the log says it once, with its reason, not once per repeat of the GX
    assert len(logged(sim, "protection allows no more", after=60)) == 1
    assert sim.multi_side.late == []


@pytest.mark.xfail(strict=True, reason=D_DMC_GX)
def test_with_a_dmc_on_the_panel_port_only_the_dmc_switches_the_multi():
    # Manual 3.6: with a Digital Multi Control, only the DMC switches the Multi on, off and
    # charger-only; the GX device cannot.
    sim = run("panel_dmc_and_gx")
    assert sent(sim, "gx", "switch") >= 1 and sent(sim, "dmc", "dmc_switch") >= 50
    assert "off" not in {c for _t, c in heard(sim)}  # the GX's "off" never reached it
    assert {v for _t, v in changes(sim, "multi_mode", after=3, before=60)} <= {"on"}
    t = first(sim, "multi_mode", "charger_only", after=60)
    assert t is not None and t <= 62  # the DMC's knob does, within its 1 s repeat
    assert logged(sim, "only the DMC switches the Multi")


def test_remote_off_nothing_from_the_panel_port_switches_the_multi_on():
    # The manual: remote off holds the Multi in low power (no charging, no discharging); the
    # DMC keeps saying "on" once a second through it all. The GX beside it keeps hearing its
    # BMS in the BMS's low-power mode (status at its longer interval).
    sim = run("panel_remote_off")
    assert sent(sim, "dmc", "dmc_switch") >= 100
    t_lp = first(sim, "multi_mode", "low_power", after=20)
    assert t_lp is not None and t_lp <= 22
    assert {v for _t, v in changes(sim, "multi_mode", after=t_lp, before=80)} == {"low_power"}
    assert {c for _t, c in heard(sim, after=t_lp, before=80)} <= {"off"}
    t_on = first(sim, "multi_mode", "on", after=80)
    assert t_on is not None and t_on <= 83
    assert len(logged(sim, "remote off holds the Multi in low power")) == 1
    assert changes(sim, "gx_allow_to_discharge", after=t_lp + 1, before=80) == []
    assert at(sim, "gx_allow_to_discharge", 79.9) == 0
    t_gx = first(sim, "gx_allow_to_discharge", 1, after=80)
    assert t_gx is not None and t_gx <= 82
    assert sim.multi_side.late == []


def test_the_gx_on_the_panel_port_sees_the_btv_loop_and_dvcc_stops_the_chargers():
    # Manual 3.5: the GX on the Remote panel port; with a VE.Bus BMS, DVCC sets the solar
    # chargers' limit to 0 while charging is not allowed (Venus OS systemcalc, dvcc.py).
    sim = run("panel_gx_dvcc")
    assert sim.summary()["bus"]["ports"]["panel"] == ["GX"]
    t_ok = first(sim, "gx_allow_to_charge", 1)
    assert t_ok is not None and t_ok <= 10  # it found the BMS through the BMS
    t_hc = first(sim, "gx_allow_to_charge", 0, after=30)
    t_cd = first(sim, "charge_disconnect", "floating", after=30)
    assert t_hc is not None and t_cd is not None and abs(t_hc - t_cd) <= 1.1
    assert at(sim, "dvcc_charge_limit_a", t_hc + 0.1) == 0
    assert first(sim, "gx_allow_to_charge", 1, after=t_hc) is not None
    assert at(sim, "dvcc_charge_limit_a", 75) > 0
    t_pa = first(sim, "gx_prealarm", 1, after=80)
    t_pin = first(sim, "pre_alarm", "high", after=80)
    assert t_pa is not None and t_pin is not None and abs(t_pa - t_pin) <= 1.1
    assert changes(sim, "gx_allow_to_discharge", after=t_ok + 0.01) == []  # stays allowed
    assert sim.multi_side.late == []


@pytest.mark.parametrize(
    "name",
    [
        "panel_gx_low_cell",
        "panel_gx_dvcc",
        "panel_dmc_and_gx",
    ],
)
def test_well_behaved_panel_devices_lose_no_frames(name):
    sim = run(name)
    assert logged(sim, "frames dropped") == []


def _multi_side_kept(sim, t0, t1):
    """What the user of the Multi sees while a fault sits on the panel port: no emergency mode,
    its BMS heard every second, the BMS's frames only in its slot, the outputs untouched."""
    assert "emergency" not in {v for _t, v in changes(sim, "multi_mode")}
    assert changes(sim, "bus", after=5) == []
    gap = sim.multi_side.status_gap(t0, t1)
    assert gap is not None and gap <= 1.1, gap
    assert sim.multi_side.late == [], sim.multi_side.late[:5]
    for sig in ("load_disconnect", "charge_disconnect", "pre_alarm"):
        assert changes(sim, sig, after=5) == [], sig


def _logged_once(sim, t0, t1):
    """Each kind of trouble at most once in the log while the fault lasts (its counts aside),
    and no events lost to the flood of them."""
    kinds = {}
    for e in sim.events:
        if t0 <= e["t"] < t1:
            kind = "".join(c for c in e["text"] if not c.isdigit())
            kinds[kind] = kinds.get(kind, 0) + 1
    assert all(n == 1 for n in kinds.values()), sorted(kinds.items(), key=lambda x: -x[1])[:3]


def test_a_device_flooding_the_panel_port_leaves_the_multi_side_alone():
    sim = run("panel_flood")
    assert sent(sim, "flood", "winmon") >= 70000  # 40 s of it
    _multi_side_kept(sim, 30, 70)
    assert logged(sim, "a device flooding the bus", 30, 71)  # the log says what happened


def test_a_device_flooding_the_panel_port_is_logged_once():
    _logged_once(run("panel_flood"), 30, 71)


def test_a_looped_panel_cable_leaves_the_multi_side_alone():
    sim = run("panel_loop")
    _multi_side_kept(sim, 30, 70)


def test_a_looped_panel_cable_is_logged_once():
    sim = run("panel_loop")
    assert logged(sim, "a looped cable", 30, 71)
    _logged_once(sim, 30, 71)
