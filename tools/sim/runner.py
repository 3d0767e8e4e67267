"""One simulation run: the scenario's world around the unmodified firmware, in virtual time.

    sim = Sim(scenario, fidelity="full")
    result = sim.run()            # the summary dict; sim.timeline, sim.events afterwards
    sim.write(out_dir)            # timeline.jsonl, events.jsonl, summary.json, timeline.png

Every device is driven by timers on one virtual-clock asyncio loop (tools/sim/vclock.py), the same
loop the firmware's own tasks run on: the firmware reads `time.ticks_ms()` from that clock, its
pins and UARTs are the fakes of tests/fakes/machine.py, and nothing ever waits on the wall clock.

Bus fidelity (`--fidelity`): "full" is the real bus, a sync frame every 20 ms followed by the
Multi's 0xE4, with 0x41 and 0x80 once a second. "fast" keeps every frame type and every rule but
sends the sync (and 0xE4) every 200 ms: ten times fewer frames for long runs. Both are documented
in the summary (`fidelity`, `sync_period_ms`); the firmware itself runs unchanged in both.
"auto" (the default) is "full" up to `AUTO_FULL_MAX_S` of simulated time and "fast" beyond.
"""

import json
import os
import random
import sys
import time
from typing import Any

import machine  # tests/fakes/machine.py on the simulator's path

from tools.sim import fwhost, plot, sched, vclock, wire, world
from tools.sim.battery import Bank
from tools.sim.bus import Segment, UartPort
from tools.sim.gx import Gx
from tools.sim.multi import Multi
from tools.sim.panel import Flooder, PanelDmc, PanelGx
from tools.sim.scenario import ScenarioError
from tools.sim.timeline import NORMATIVE, Timeline
from tools.sim.wire import GxNode, MultiNode

LABELS = {"gx": "GX", "dmc": "DMC", "dongle": "Smart dongle"}
PHYS_DT = 1.0  # seconds between battery model steps
SYNC_MS = {"full": 20, "fast": 200}
AUTO_FULL_MAX_S = 3600.0
PROGRESS_EVERY_S = 2.0  # wall-clock seconds between progress lines


class Sim:
    def __init__(self, scenario, fidelity="auto", progress=False, seed=1, scheduler="fast"):
        if scheduler not in ("fast", "asyncio"):
            raise ValueError("scheduler: expected fast or asyncio, got %r" % (scheduler,))
        self.scheduler = scheduler
        if fidelity == "auto":
            fidelity = "full" if scenario.duration_s <= AUTO_FULL_MAX_S else "fast"
        if fidelity not in SYNC_MS:
            raise ValueError("fidelity: expected auto, full or fast, got %r" % (fidelity,))
        self.scn = scenario
        self.fidelity = fidelity
        self.sync_ms = SYNC_MS[fidelity]
        self.progress = progress
        self.rng = random.Random(seed)
        s = scenario.system
        self.bank = Bank(s["batteries"], s["series"], s["soc"])
        nominal = self.bank.nominal_v
        self.multis = [
            Multi(
                s["multi_firmware"],
                i,
                charge_a=world.multi_charge_a(nominal),
                assistant=s["multi_assistant"],
            )
            for i in range(s["multis"])
        ]
        self.gx = Gx() if s["gx"] else None
        self.dongle: Any = None  # a VE.Bus Smart dongle's view (system.panel "dongle")
        self.inputs = dict(fwhost.initial_inputs())
        self.timeline = Timeline()
        self.events = []
        self.amps = 0.0
        self.loop: Any = None
        self.fw: Any = None
        self._wall0 = 0.0
        self._next_progress = 0.0
        self._hooks = []

    # ---- hooks for tests and fault injection ----
    def at(self, t, fn, *args):
        """Call fn(*args) at simulated time t (seconds); set up before run()."""
        self._hooks.append((t, fn, args))

    def power_cycle(self):
        """The BMS loses power and comes back: RAM and pins lost, its flash files kept."""
        self.fw.reboot("power cycle", machine.PWRON_RESET)

    # ---- set-up ----
    def _build(self):
        loop = self.loop
        self.fw = fwhost.FirmwareHost(self, self.scn.settings)
        self.fw.start(loop)  # builds the firmware's board: its UARTs exist from here on
        self.seg_multi = Segment("multi", self.rng)
        self.seg_panel = Segment("panel", self.rng)
        self.fw_multi = self.seg_multi.attach(UartPort(self.seg_multi, self.fw.uart("multi")))
        panel_uart = self.fw.uart("panel")
        self.fw_panel = self.seg_panel.attach(UartPort(self.seg_panel, panel_uart))
        self._wire(panel_uart is not None)
        for m in self.multis:
            m.power_up(0.0)
        for _name, node in self.nodes:
            node.start(loop)
        for rec in self.scn.inputs:
            loop.call_at(rec["t"], self._apply, rec)
        for t, fn, args in self._hooks:
            loop.call_at(t, fn, *args)
        self._apply_world()
        self.observe()
        loop.call_at(PHYS_DT, self._physics)

    def _wire(self, have_panel_port):
        """The devices on their segments (system.panel): the Multi(s) on the Multi's side; what
        the panel names on the Remote panel port; a GX not named there beside the Multi."""
        on_panel = self.scn.system["panel"].split("+")
        if on_panel != ["none"] and not have_panel_port:
            raise ScenarioError(
                "system.panel: the board (setting board) has no Remote panel port for a %s"
                % " and a ".join(on_panel)
            )
        seg_m, seg_p = self.seg_multi, self.seg_panel
        self.multi_node = mn = seg_m.attach(MultiNode(seg_m, self.multis, self.sync_ms))
        mn.dc_volts = lambda: self.bank.volts
        mn.dc_amps = lambda: self.amps
        mn.on_change = self.observe
        self.nodes: list[tuple[str, Any]] = [("multi", mn)]
        n = len(self.multis)
        self.ports = {"multi": ["Multi" if n == 1 else "%d Multis" % n], "panel": []}
        self.dmc_node: Any = None
        self.flooder: Any = None
        if self.gx is not None:
            if "gx" in on_panel:
                self.nodes.append(("gx", seg_p.attach(PanelGx(seg_p, "gx", self.gx))))
            else:
                self.nodes.append(("gx", seg_m.attach(GxNode(seg_m, self.gx))))
        if "dongle" in on_panel:
            self.dongle = Gx()
            self.nodes.append(("dongle", seg_p.attach(PanelGx(seg_p, "dongle", self.dongle))))
        if "dmc" in on_panel:
            self.dmc_node = seg_p.attach(PanelDmc(seg_p))
            self.nodes.append(("dmc", self.dmc_node))
            if self.gx is not None and "gx" not in on_panel:
                # docs/hardware.md 9.5: a GX beside the Multis has its on/off control disabled
                # while a DMC is present
                mn.ignore_switch_from = self.nodes[1][1]
        for name, node in self.nodes:
            node.on_change = self.observe
            if node is not mn:
                self.ports[node.segment.name].append(LABELS[name])
        if have_panel_port:  # silent until a scenario's panel_fault says "flood"
            self.flooder = seg_p.attach(Flooder(seg_p))
            self.nodes.append(("flood", self.flooder))

    # ---- scenario inputs ----
    def _apply(self, rec):
        now = self.loop.time()
        idx = rec.get("battery")
        if "temp_c" in rec:
            self.bank.set_temp(rec["temp_c"], idx)
        if "cell_v" in rec:
            self.bank.set_cell_v(rec["cell_v"], idx)
        if "btv" in rec:
            self.bank.set_btv(rec["btv"], idx)
        for key in ("load_a", "charge_a", "remote", "ac_in", "input_stuck", "gx_command"):
            if key in rec:
                self.inputs[key] = rec[key]
        for key in ("dongle_command", "dmc_switch", "panel_fault"):
            if key in rec:
                self.inputs[key] = rec[key]
                self._panel_input(key, rec[key])
        if "bus_noise" in rec:
            self.inputs["bus_noise"] = rec["bus_noise"]
            self.seg_multi.noise = self.seg_panel.noise = rec["bus_noise"]
        if "multi" in rec and rec["multi"] != self.inputs["multi"]:
            self.inputs["multi"] = rec["multi"]
            present = rec["multi"] == "present"
            for m in self.multis:
                m.present = present
                if present:
                    m.power_up(now)
        if "multi_switch" in rec:
            self.inputs["multi_switch"] = rec["multi_switch"]
            self.multis[0].front = rec["multi_switch"]  # the master's front panel switch
        if "bms" in rec:
            self.inputs["bms"] = rec["bms"]
            self.fw_multi.connected = self.fw_panel.connected = rec["bms"] == "running"
        self._apply_world()
        self.observe()

    def _panel_input(self, key, v):
        if key == "dongle_command":
            self.dongle.command = v
        elif key == "dmc_switch":
            self.dmc_node.position = v
        elif self.flooder is None:
            raise ScenarioError("inputs.panel_fault: the board has no Remote panel port")
        else:
            self.flooder.set(v == "flood")
            self.seg_panel.join(self.seg_multi if v == "loop" else None)

    def _apply_world(self):
        for m in self.multis:
            m.ac_in = self.inputs["ac_in"]
        if self.gx is not None:
            self.gx.command = self.inputs["gx_command"]
        self.fw.drive_inputs(self.bank.loop, self.inputs)

    # ---- physics ----
    def _physics(self):
        now = self.loop.time()
        outs = self.fw.outputs()
        self.amps = world.bank_current(now, self.bank, self.inputs, outs, self.multis, self.gx)
        self.bank.step(PHYS_DT, self.amps)
        self.fw.drive_inputs(self.bank.loop, self.inputs)
        self.fw.check_watchdog(time.ticks_ms())  # pyright: ignore[reportAttributeAccessIssue]
        self.observe()
        if self.progress:
            self._progress(now)
        self.loop.call_at(now + PHYS_DT, self._physics)

    def _progress(self, now):
        wall = time.monotonic()
        if wall < self._next_progress:
            return
        self._next_progress = wall + PROGRESS_EVERY_S
        total = self.scn.duration_s
        x = now / max(1e-9, wall - self._wall0)
        sys.stderr.write(
            "\rsim: %s  %.2f h / %.2f h (%3d %%)  %.0fx real time   "
            % (self.scn.name, now / 3600, total / 3600, int(100 * now / total), x)
        )
        sys.stderr.flush()

    # ---- what everyone sees ----
    def observe(self):
        now = self.loop.time()
        tl = self.timeline
        outs = self.fw.outputs()
        for k, v in outs.items():
            tl.set(now, k, v)
        for k, v in self.fw.leds(now).items():
            tl.set(now, k, v)
        master = self.multis[0]
        tl.set(now, "multi_mode", master.mode(now))
        tl.set(now, "multi_error", master.error(now))
        tl.set(now, "multi_charge", master.charge(now))
        if self.gx is not None:
            atc, atd, pre = self.gx.flags(now)
            dvcc = self.gx.dvcc_limit_a(now)
        else:
            atc = atd = pre = 0
            dvcc = 0.0
        tl.set(now, "gx_allow_to_charge", atc)
        tl.set(now, "gx_allow_to_discharge", atd)
        tl.set(now, "gx_prealarm", pre)
        tl.set(now, "dvcc_charge_limit_a", dvcc)
        tl.set(now, "bms_power", self.fw.bms_power())
        bank = self.bank
        tl.set(now, "btv", bank.loop.condition)
        if not master.present:
            bus = "no_multi"
        elif self.inputs["bms"] != "running" or master.bms_silent(now):
            bus = "no_bms"
        else:
            bus = "ok"
        tl.set(now, "bus", bus)
        tl.set(now, "cell_min_v", round(bank.cell_min(), 2))
        tl.set(now, "cell_max_v", round(bank.cell_max(), 2))
        tl.set(now, "temp_c", round(bank.temp_c(), 1))
        tl.set(now, "battery_a", round(self.amps))
        tl.set(now, "soc", round(bank.soc(), 2))
        tl.set(now, "ac_in", self.inputs["ac_in"])
        tl.set(now, "remote", self.inputs["remote"])

    # ---- run ----
    def run(self):
        loop: Any
        if self.scheduler == "fast":
            self.loop = loop = sched.Scheduler()
            loop.on_task_error = lambda task, exc: self.fw.task_error(task, exc)
        else:
            self.loop = loop = vclock.VirtualLoop()
        vclock.install_ticks(loop)
        machine.reset_fakes()
        machine.set_clock(None)
        self._wall0 = time.monotonic()
        self._next_progress = self._wall0 + PROGRESS_EVERY_S
        try:
            if self.scheduler == "fast":
                loop.install()  # before the firmware is built: it keeps time.ticks_ms
            self._build()
            loop.run_until(self.scn.duration_s)
            self.observe()
            self.events = self.fw.events()
        finally:
            if self.fw is not None:
                self.fw.stop()
            if self.scheduler == "fast":
                loop.uninstall()
                loop.close()
            else:
                loop.shutdown()
            vclock.install_ticks(None)
        self.wall_s = time.monotonic() - self._wall0
        if self.progress:
            sys.stderr.write("\n")
        return self.summary()

    def summary(self):
        final = {k: self.timeline.last.get(k) for k in self.timeline.last}
        return {
            "name": self.scn.name,
            "duration_s": self.scn.duration_s,
            "fidelity": self.fidelity,
            "scheduler": self.scheduler,
            "sync_period_ms": self.sync_ms,
            "final": final,
            "normative_signals": list(NORMATIVE),
            "events": len(self.events),
            "bus": {
                "frames_by_type": wire.frame_counts(self.nodes),
                "rejects_by_reason": wire.reject_counts(self.nodes),
                "ports": self.ports,
                "firmware_rejects_by_reason": self.fw.rejects(),
                "bytes_corrupted": self.seg_multi.corrupted + self.seg_panel.corrupted,
            },
            "firmware_resets": self.fw.resets,
            "firmware_task_errors": self.fw.task_errors,
            "wall_s": round(self.wall_s, 3),
            "x_real_time": round(self.scn.duration_s / max(self.wall_s, 1e-9), 1),
        }

    def write(self, out_dir, png=True):
        os.makedirs(out_dir, exist_ok=True)
        self.timeline.write(os.path.join(out_dir, "timeline.jsonl"))
        with open(os.path.join(out_dir, "events.jsonl"), "w", encoding="utf-8") as f:
            for e in self.events:
                f.write(json.dumps(e) + "\n")
        with open(os.path.join(out_dir, "summary.json"), "w", encoding="utf-8") as f:
            json.dump(self.summary(), f, indent=2, sort_keys=True)
            f.write("\n")
        if png:
            plot.render(
                self.timeline,
                self.scn.duration_s,
                os.path.join(out_dir, "timeline.png"),
                title="%s (%s bus)" % (self.scn.name, self.fidelity),
                ports=self.ports,
            )
