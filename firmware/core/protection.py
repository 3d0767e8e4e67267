"""The protection state machine: BTV condition + system inputs + ticks -> outputs. Pure, sans-IO.

    p = Protection(settings, log=EventLog(64), latched=False)   # latched: from latch.py at boot
    inp = p.inputs               # preallocated Inputs; fill its fields (inp.btv is a Condition)
    out = p.step(now_ms, inp)    # the same preallocated Outputs object every call; no allocation
    if news or p.due(now_ms): ...  # same inputs, not due: a step would change nothing

Inputs: btv (btv.Condition), remote_on, mains (mains detector), ac_in (the Multi reports AC in),
multi_present, multi_version (the firmware's last three digits, e.g. 415; 0 = unknown),
multi_assistant (1 present, 0 reported missing, -1 unknown), multi_mode (the switch state the
Multi reports, codes.MODE_*, MODE_NONE = not known: MODE_OFF while the BMS does not ask for it
is the Multi switched off),
dmc_present, dmc_request, gx_request (codes.MODE_*; MODE_NONE = no request).

Outputs: load / charge / prealarm (codes.HIGH or FLOAT), multi_mode (codes.MODE_*),
multi_ceiling (the most protection alone lets the Multi do, requests aside), allow_charge,
allow_discharge, charge_rate (0..100 %), bat_prealarm, low_power (BMS low-power mode), error
(0, 7 or 15: VE.Bus error), led_status / led_cell / led_high (codes.PAT_*), state (codes.ST_*),
reasons (codes.R_* bits: why not everything is on), latched + latch_reason (persist with latch.py
when `changed & CH_LATCH`), changed (CH_* bits of what changed in this step).

The rules (defaults in settings.py), each with its test in tests/test_core_protection*.py:
- start-up: loads off, chargers off, pre-alarm off, Multi off until the loop has read OK for
  startup_ok_ms.
- pre-alarm from the battery -> pre-alarm high (only while loads are on: it warns of their end).
- low cell -> pre-alarm high, then no sooner than prealarm_to_disconnect_s after the pre-alarm
  output went high: load disconnect floats, the pre-alarm floats again, the Multi goes
  charger-only (off without AC). Low cell clearing before that switches nothing off.
- high cell / low temperature / high temperature -> charge disconnect floats at once, red LED on,
  and the Multi stops charging (charge rate 0: "charging must be stopped", manual 3.3); only a
  high cell the wiring tells apart (btv_wire.py) gets reduced_charge_rate_pct instead, so the
  cells can balance (manual 7, Q4). The Multi keeps its mode (AC still passes through).
- open loop / loop fault (stuck, stale) -> chargers off and the Multi stops charging at once,
  loads off after the pre-alarm delay; latched until the loop reads OK for startup_ok_ms, and
  kept across a reboot (latch.py).
- an output (load, charge, the Multi's charging) that switched off stays off for min_hold_s;
  switching off is never delayed.
- remote off -> every output floating at once, the Multi off (low power), the BMS in low power.
- the Multi switched off (its front panel switch: it reports "off" while the BMS asks for more)
  -> the BMS in low power (status LED dark), info frames continue at the low-power interval;
  the outputs keep following the loop (manual 1, LED indicators).
- mains detector: after a low-cell shutdown without AC, AC back -> Multi charger-only.
- the Multi's mode: protection > remote off > DMC > GX; with a DMC present GX is ignored.
- VE.Bus error 15 for Multi firmware < 415 (Multi held off); error 7 for 415..488 when the Multi
  reports the assistant missing (Multi held off).

Where the manual is ambiguous or silent, the reading taken and why: docs/manual-readings.md.
"""

from time import ticks_diff

from micropython import const

from firmware.core.events import EventLog
from firmware.core.signals import (  # noqa: F401  (re-exported: the public API)
    Held,
    Inputs,
    Outputs,
)

# firmware/core/codes.py's numbers (tests/host/test_consts.py keeps the copies equal)
_EV_BOOT = const(1)
_EV_STARTUP_DONE = const(2)
_EV_PREALARM_ON = const(3)
_EV_PREALARM_OFF = const(4)
_EV_LOAD_OFF = const(5)
_EV_LOAD_ON = const(6)
_EV_CHARGE_OFF = const(7)
_EV_CHARGE_ON = const(8)
_EV_MULTI = const(9)
_EV_MAINS_RESTART = const(10)
_EV_FAULT_LATCHED = const(11)
_EV_FAULT_CLEARED = const(12)
_EV_REMOTE = const(13)
_EV_ERROR15 = const(14)
_EV_ERROR7 = const(15)
_EV_ERROR_CLEARED = const(16)
_EV_LOW_POWER = const(17)
_EV_MULTI_SWITCHED = const(19)
_FLOAT = const(0)
_HIGH = const(1)
_MODE_CHARGER_ONLY = const(5)
_MODE_INVERTER_ONLY = const(6)
_MODE_NONE = const(0)
_MODE_OFF = const(4)
_MODE_ON = const(7)
_R_HIGH_CELL = const(0x0002)
_R_LATCH_LOST = const(0x2000)
_R_LATCHING = const(0xA0E0)
_R_LOOP_FAULT = const(0x81E0)
_R_LOW_CELL = const(0x0001)
_R_NO_AC = const(0x0800)
_R_NO_CHARGE = const(0x400E)
_R_REMOTE_OFF = const(0x0200)
_R_STARTUP = const(0x0400)
_R_VEBUS_ERROR = const(0x1000)
_ST_CHARGE_OFF = const(3)
_ST_LOOP_FAULT = const(5)
_ST_LOW_CELL_OFF = const(4)
_ST_PREALARM = const(2)
_ST_REMOTE_OFF = const(6)
_ST_RUN = const(1)
_ST_STARTUP = const(0)
_ST_VEBUS_ERROR = const(7)
_PAT_HEARTBEAT = const(2)
_PAT_LISTEN = const(4)
_PAT_OFF = const(0)
_PAT_ON = const(1)
_CH_CHARGE = const(0x02)
_CH_ERROR = const(0x20)
_CH_LATCH = const(0x10)
_CH_LOAD = const(0x01)
_CH_LOW_POWER = const(0x40)
_CH_MODE = const(0x08)
_CH_PREALARM = const(0x04)

_MIN_FW_NATIVE = const(489)  # Multi firmware that works with the BMS without an assistant
_MIN_FW = const(415)  # below this: VE.Bus error 15
FULL_STEP_MS = const(1000)  # due() asks for a full step at least this often, news or not


def _mode(charge, invert, want_invert, ac):
    """The Multi's mode from what it may do; charger-only without AC is off when inverting was
    wanted (nothing would run)."""
    if charge and invert:
        return _MODE_ON
    if charge:
        return _MODE_OFF if want_invert and not ac else _MODE_CHARGER_ONLY
    return _MODE_INVERTER_ONLY if invert else _MODE_OFF


class Protection:
    def __init__(self, settings, log=None, latched=False, latch_reason=0):
        s = settings
        self.startup_ms = s.startup_ok_ms
        self.delay_ms = s.prealarm_to_disconnect_s * 1000
        self.hold_ms = s.min_hold_s * 1000
        self.reduced_rate = s.reduced_charge_rate_pct
        self.transmit = s.vebus_mode == "bms"  # info frames go out (listen: nothing is sent)
        self.log = log if log is not None else EventLog(32)
        self.inputs = Inputs()
        self.outputs = Outputs()
        self.load = Held()
        self.charge = Held()
        self.mchg = Held()  # the Multi may charge
        self._first = True
        self._startup = True
        self._latched = bool(latched)
        self._latch_reason = (latch_reason or _R_LATCH_LOST) if latched else 0
        self._ok_run = False
        self._ok_at = 0
        self._ok_ripe = False
        self._pa = False
        self._pa_at = 0
        self._pa_ripe = False
        self._shutdown = 0  # reason of the load disconnect in force (low cell / loop fault)
        self._chg_why = 0
        self._remote = -1
        self._multi_off = False  # the Multi reports itself switched off (its own doing)
        self.outputs.latched = self._latched
        self.outputs.latch_reason = self._latch_reason
        # The last step switched the loads on with the battery's pre-alarm on: the next one
        # switches the pre-alarm output on (it warns only while the loads are on), so it is owed
        # at once. No other step changes what the next one would do with the same inputs
        # (tests/host/test_protect_skip.py): timers aside.
        self.rerun = True  # (the first step is owed)
        self._at = 0  # the last step's tick
        self._due_ms = None  # ms from it to the next step owed (worked out when asked)

    def due(self, now):
        """True when step() is owed at `now` even with the same inputs as the last step: that
        step switched the loads on under a pre-alarm (rerun), a timer may have run out, or
        FULL_STEP_MS passed. Otherwise a step with the same inputs would change nothing, and
        the caller may skip it."""
        if self.rerun:
            return True
        if self._due_ms is None:  # once per step, and outside it: the step stays short
            self._due_ms = self._next_due(self._at)
        return ticks_diff(now, self._at) >= self._due_ms

    def _next_due(self, now):
        """ms until a running timer may run out, FULL_STEP_MS at most."""
        ms = FULL_STEP_MS
        if self._ok_run and not self._ok_ripe:
            ms = min(ms, self.startup_ms - ticks_diff(now, self._ok_at))
        if self._pa and not self._pa_ripe:
            ms = min(ms, self.delay_ms - ticks_diff(now, self._pa_at))
        hold = self.hold_ms
        h = self.load
        if not (h.on or h.ripe):  # its hold is running
            ms = min(ms, hold - ticks_diff(now, h.off_at))
        h = self.charge
        if not (h.on or h.ripe):
            ms = min(ms, hold - ticks_diff(now, h.off_at))
        h = self.mchg
        if not (h.on or h.ripe):
            ms = min(ms, hold - ticks_diff(now, h.off_at))
        return ms

    def step(self, now, inp=None):
        if inp is None:
            inp = self.inputs
        o = self.outputs
        c = inp.btv
        log = self.log
        if self._first:
            self._first = False
            log.record(now, _EV_BOOT, self._latch_reason, 1 if self._latched else 0)
        was_latched = self._latched

        # 1. The loop OK timer ends start-up and clears a latched loop fault.
        if c.loop_ok:
            if not self._ok_run:
                self._ok_run = True
                self._ok_at = now
                self._ok_ripe = False
            elif not self._ok_ripe and ticks_diff(now, self._ok_at) >= self.startup_ms:
                self._ok_ripe = True
        else:
            self._ok_run = False
            self._ok_ripe = False
            if c.reasons & _R_LATCHING and not self._latched:
                self._latched = True
                self._latch_reason = c.reasons & _R_LATCHING
                log.record(now, _EV_FAULT_LATCHED, c.reasons, 0)
        if self._ok_ripe:
            if self._startup:
                self._startup = False
                log.record(now, _EV_STARTUP_DONE, 0, self.startup_ms)
            if self._latched:
                self._latched = False
                self._latch_reason = 0
                log.record(now, _EV_FAULT_CLEARED, 0, self.startup_ms)

        # 2. Remote on/off.
        # An unknown remote (not yet debounced at boot, or stale) keeps the outputs safe like "off"
        # but is not logged or reported as "remote off": the log says what the terminal said.
        remote_on = inp.remote_on
        remote_off = not remote_on and inp.remote_known
        r = 1 if remote_on else 0
        if inp.remote_known and r != self._remote:
            if self._remote >= 0 or not remote_on:
                log.record(now, _EV_REMOTE, _R_REMOTE_OFF if not r else 0, r)
            self._remote = r

        startup = self._startup
        fault = self._latched or not c.loop_ok
        if fault:
            fault_why = c.reasons & _R_LOOP_FAULT if not c.loop_ok else self._latch_reason
        else:
            fault_why = 0
        safe = startup or not remote_on
        safe_why = _R_STARTUP if startup else _R_REMOTE_OFF
        bad_dis = fault or not c.discharge_ok
        bad_chg = fault or not c.charge_ok
        hold = self.hold_ms
        load = self.load
        old_load = load.on
        old_chg = self.charge.on
        old_pa = self._pa

        # 3. Pre-alarm and load disconnect.
        if safe or not load.on:
            pa_want = False
        else:
            pa_want = bad_dis or c.prealarm
        dis_why = fault_why if fault else (c.reasons & _R_LOW_CELL)
        if pa_want and not self._pa:
            self._pa = True
            self._pa_at = now
            self._pa_ripe = False
            log.record(now, _EV_PREALARM_ON, dis_why if bad_dis else c.reasons, 0)
        if self._pa and not self._pa_ripe and ticks_diff(now, self._pa_at) >= self.delay_ms:
            self._pa_ripe = True
        if safe:
            load_want = False
        elif load.on:
            load_want = not (bad_dis and self._pa and self._pa_ripe)
        else:
            load_want = not bad_dis
        if not (load_want and old_load) and load.want(load_want, now, hold):
            if load.on:
                self._shutdown = 0
                log.record(now, _EV_LOAD_ON, 0, load.off_for_s(now))
            elif safe:
                log.record(now, _EV_LOAD_OFF, safe_why, -1)
            else:
                self._shutdown = dis_why
                log.record(now, _EV_LOAD_OFF, dis_why, ticks_diff(now, self._pa_at) // 1000)
        elif not load.on and bad_dis and not safe:
            self._shutdown = dis_why
        if self._pa and (not pa_want or not load.on):
            self._pa = False
            log.record(now, _EV_PREALARM_OFF, c.reasons, 0 if load.on else 1)

        # 4. Charge disconnect, and whether the Multi may charge at all.
        chg = self.charge
        want = not (safe or bad_chg)
        if not (want and old_chg) and chg.want(want, now, hold):
            if chg.on:
                self._chg_why = 0
                log.record(now, _EV_CHARGE_ON, 0, chg.off_for_s(now))
            else:
                if safe:
                    self._chg_why = safe_why
                elif fault:
                    self._chg_why = fault_why
                else:
                    self._chg_why = c.reasons & _R_NO_CHARGE
                log.record(now, _EV_CHARGE_OFF, self._chg_why, 0)
        mchg = self.mchg
        want = not (safe or fault)
        if not (want and mchg.on):
            mchg.want(want, now, hold)

        # 5. The Multi's mode: protection > remote off > DMC > GX.
        req = inp.dmc_request if inp.dmc_present else inp.gx_request
        if req == _MODE_NONE:
            req = _MODE_ON
        why = 0
        if remote_off:
            req = _MODE_OFF
            why = _R_REMOTE_OFF
        req_c = req == _MODE_ON or req == _MODE_CHARGER_ONLY
        req_i = req == _MODE_ON or req == _MODE_INVERTER_ONLY
        c_ok = req_c and mchg.on
        i_ok = req_i and load.on
        if req_c and not c_ok:
            why |= _R_STARTUP if startup else (fault_why or self._chg_why)
        if req_i and not i_ok:
            why |= _R_STARTUP if startup else (self._shutdown or fault_why)
        ac = inp.mains or inp.ac_in
        mode = _MODE_ON if c_ok and i_ok else _mode(c_ok, i_ok, req_i, ac)
        if c_ok and mode == _MODE_OFF:
            why |= _R_NO_AC  # charger-only without AC: off
        # The most protection alone lets the Multi do (no request, remote aside): what control
        # from the Remote panel port is measured against (firmware/core/control.py).
        ceiling = mode if req == _MODE_ON else _mode(mchg.on, load.on, True, ac)
        err = 0
        v = inp.multi_version
        if inp.multi_present and v > 0:
            if v < _MIN_FW:
                err = 15
            elif v < _MIN_FW_NATIVE and inp.multi_assistant == 0:
                err = 7
        if err:
            mode = ceiling = _MODE_OFF
            why = _R_VEBUS_ERROR
        if err != o.error:
            if err == 15:
                log.record(now, _EV_ERROR15, _R_VEBUS_ERROR, v)
            elif err == 7:
                log.record(now, _EV_ERROR7, _R_VEBUS_ERROR, v)
            else:
                log.record(now, _EV_ERROR_CLEARED, 0, 0)
        old_mode = o.multi_mode
        if mode != old_mode:
            if (
                mode == _MODE_CHARGER_ONLY
                and old_mode == _MODE_OFF
                and self._shutdown
                and inp.mains
            ):
                log.record(now, _EV_MAINS_RESTART, self._shutdown, 0)
            log.record(now, _EV_MULTI, why, mode)
        # The Multi switched off by its front panel (manual 1, LED indicators): "the BMS goes
        # into low power mode but continues to send BMS info frames". Off while the BMS asks for
        # off is the BMS's own doing; no report (_MODE_NONE, the Multi absent) changes nothing.
        reported = inp.multi_mode if inp.multi_present else _MODE_NONE
        if reported == _MODE_OFF and mode != _MODE_OFF and not self._multi_off:
            self._multi_off = True
            log.record(now, _EV_MULTI_SWITCHED, 0, 1)
        elif self._multi_off and reported != _MODE_OFF and reported != _MODE_NONE:
            self._multi_off = False
            log.record(now, _EV_MULTI_SWITCHED, 0, 0)
        low_power = remote_off or (mode == _MODE_OFF and not startup) or self._multi_off
        if low_power != o.low_power:
            log.record(now, _EV_LOW_POWER, why, 1 if low_power else 0)

        # 6. Write the outputs: those a change bit covers only when it is set.
        changed = 0
        if load.on != old_load:
            changed = _CH_LOAD
            o.load = _HIGH if load.on else _FLOAT
            o.allow_discharge = load.on
        if chg.on != old_chg:
            changed |= _CH_CHARGE
            o.charge = _HIGH if chg.on else _FLOAT
            o.allow_charge = chg.on
        pa = self._pa
        if pa != old_pa:
            changed |= _CH_PREALARM
            o.prealarm = _HIGH if pa else _FLOAT
            o.bat_prealarm = pa
        if mode != old_mode:
            changed |= _CH_MODE
            o.multi_mode = mode
        if self._latched != was_latched:
            changed |= _CH_LATCH
            o.latched = self._latched
            o.latch_reason = self._latch_reason
        if err != o.error:
            changed |= _CH_ERROR
            o.error = err
        if low_power != o.low_power:
            changed |= _CH_LOW_POWER
            o.low_power = low_power
        o.changed = changed
        self.rerun = load.on and not old_load and c.prealarm
        self._at = now
        self._due_ms = None
        o.multi_ceiling = ceiling
        if not mchg.on:
            o.charge_rate = 0
        elif chg.on:
            o.charge_rate = 100
        elif ((c.reasons & _R_NO_CHARGE) or (self._chg_why & _R_NO_CHARGE)) == _R_HIGH_CELL:
            o.charge_rate = self.reduced_rate  # a high cell alone: balance (manual 7, Q4)
        else:
            o.charge_rate = 0  # low / high temperature or untold: stop charging (manual 3.3)
        # Status (manual 1, LED indicators): a flash every 10 s while the Multi is on and info
        # frames are sent; dark in low-power mode; listen mode has its own double flash.
        if low_power:
            o.led_status = _PAT_OFF
        elif not self.transmit:
            o.led_status = _PAT_LISTEN
        else:
            o.led_status = _PAT_HEARTBEAT if inp.multi_present else _PAT_OFF
        # "Lights when the Load disconnect output is high and the battery cell voltages are above
        # 2.8 V" (manual 1): dark at the low-cell signal, not 30 s later at the load disconnect.
        o.led_cell = _PAT_ON if load.on and not bad_dis else _PAT_OFF
        red = not safe and not fault and not chg.on and (c.reasons | self._chg_why) & _R_NO_CHARGE
        o.led_high = _PAT_ON if red else _PAT_OFF
        reasons = c.reasons | self._latch_reason
        if remote_off:
            reasons |= _R_REMOTE_OFF
        if startup:
            reasons |= _R_STARTUP
        if err:
            reasons |= _R_VEBUS_ERROR
        o.reasons = reasons
        if remote_off:
            o.state = _ST_REMOTE_OFF
        elif startup:
            o.state = _ST_STARTUP
        elif err:
            o.state = _ST_VEBUS_ERROR
        elif fault:
            o.state = _ST_LOOP_FAULT
        elif not load.on:
            o.state = _ST_LOW_CELL_OFF
        elif pa:
            o.state = _ST_PREALARM
        elif not chg.on:
            o.state = _ST_CHARGE_OFF
        else:
            o.state = _ST_RUN
        return o
