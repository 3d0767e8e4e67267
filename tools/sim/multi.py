"""The MultiPlus/Quattro as the BMS sees it: what it decides, given what it hears on VE.Bus.

This module is the Multi's behaviour only (no bytes): tools/sim/wire.py turns frames on the
virtual bus into calls here and the Multi's state into frames. Rules (docs/simulator.md,
"Models"):

- firmware below 415 with a BMS on the bus: VE.Bus error 15, the Multi stays off;
- firmware 415..488 without the "VE.Bus BMS" (or ESS) assistant, a BMS on the bus: VE.Bus error 7
  ("VE.Bus BMS connected, which requires an assistant, but none found"), the Multi stays off;
- it obeys the switch frames (0x3F) it hears: sleep (off), charger-only, inverter-only, on;
  its front panel switch "off" (scenario `multi_switch`) switches it off whatever it hears, and it
  keeps syncing on VE.Bus (assumption: the manual's BMS keeps sending info frames then);
- the BMS's status: no discharge allowed -> no inverting (on becomes charger-only); no charge
  allowed -> charge zero; a charge rate below 100 % -> reduced charge; low power -> low power;
- a BMS it expects that falls silent for `bms_timeout_s`: emergency mode (charges at most 5 A,
  never inverts);
- without AC in it cannot charge; with AC in, loads pass through.
"""

EMERGENCY_CHARGE_A = 5.0
REDUCED_FRACTION = 0.1  # charge rate the Multi uses for "reduced" when the BMS gives none
STARTUP_GRACE_S = 10.0  # a BMS is expected; this long after power-up before silence counts


class BmsView:
    """The last BMS status the Multi heard (the catalogue's inferred status frame, decoded)."""

    def __init__(self):
        self.allow_charge = False
        self.allow_discharge = False
        self.prealarm = False
        self.error = 0
        self.charge_rate = 0  # AllowToChargeRate, 0..255 (255 = full)


class Multi:
    """One Multi. `index` 0 is the master (it sends the syncs); `phase` 1..3 in three-phase."""

    def __init__(self, firmware=502, index=0, charge_a=50.0, bms_timeout_s=10.0, assistant=True):
        self.firmware = firmware
        self.assistant = assistant
        self.index = index
        self.charge_a_full = charge_a
        self.bms_timeout_s = bms_timeout_s
        self.present = True
        self.ac_in = True
        self.switch = "on"  # the last switch command heard (0x3F)
        self.front = "on"  # the front panel switch: "on" | "off" (the scenario's multi_switch)
        self.powered_at = 0.0
        self.bms = BmsView()
        self.bms_heard_at = None  # time of the last BMS status frame
        self.bms_ever = False
        self.version_queries = 0
        self.frames_in = {}

    # ---- what it hears ----
    def power_up(self, now):
        self.powered_at = now
        self.bms_heard_at = None
        self.switch = "on"

    def heard_switch(self, command):
        """command: "off" | "charger_only" | "inverter_only" | "on". True if it changed."""
        changed = command != self.switch
        self.switch = command
        return changed

    def heard_bms(self, now, allow_charge, allow_discharge, prealarm, error, rate):
        """A BMS status frame. True if anything the Multi decides on changed."""
        b = self.bms
        changed = self.bms_heard_at is None or (
            b.allow_charge,
            b.allow_discharge,
            b.prealarm,
            b.error,
            b.charge_rate,
        ) != (allow_charge, allow_discharge, prealarm, error, rate)
        b.allow_charge = allow_charge
        b.allow_discharge = allow_discharge
        b.prealarm = prealarm
        b.error = error
        b.charge_rate = rate
        self.bms_heard_at = now
        self.bms_ever = True
        return changed

    # ---- what it decides ----
    def bms_silent(self, now):
        if now - self.powered_at < STARTUP_GRACE_S:
            return False
        if self.bms_heard_at is None:
            return True
        return now - self.bms_heard_at > self.bms_timeout_s

    def error(self, now):
        """VE.Bus error number shown by the Multi, or None."""
        if not self.present:
            return None
        if self.firmware < 415 and self.bms_ever:
            return 15
        if self.firmware < 489 and not self.assistant and self.bms_ever:
            return 7
        return None

    def switch_state(self):
        """What the Multi reports in its LED frame's switch register: the front panel switch
        "off" wins over any command heard."""
        return "off" if self.front == "off" else self.switch

    def mode(self, now):
        if not self.present or self.error(now) is not None or self.front == "off":
            return "off"
        if self.bms_silent(now):
            return "emergency"
        if self.bms_heard_at is None:  # start-up grace: nothing heard yet, nothing limited
            return self.switch
        b = self.bms
        if self.switch == "off":
            # Held off by a BMS that allows neither charging nor discharging: low power.
            if not b.allow_charge and not b.allow_discharge and not b.error:
                return "low_power"
            return "off"
        mode = self.switch
        if not b.allow_discharge:
            if mode == "on":
                mode = "charger_only"
            elif mode == "inverter_only":
                mode = "off"
        return mode

    def charge(self, now):
        """ "full" | "reduced" | "zero": what the charger does now."""
        mode = self.mode(now)
        if not self.ac_in or mode in ("off", "low_power", "inverter_only"):
            return "zero"
        if mode == "emergency":
            return "reduced"
        b = self.bms
        if self.bms_heard_at is None:
            return "full"
        if b.charge_rate <= 0:
            return "zero"
        if not b.allow_charge or b.charge_rate < 255:
            return "reduced"  # high cell: bulk with a reduced current so the cells can balance
        return "full"

    def charge_amps(self, now):
        state = self.charge(now)
        if state == "zero":
            return 0.0
        if self.mode(now) == "emergency":
            return min(EMERGENCY_CHARGE_A, self.charge_a_full)
        if state == "reduced":
            rate = self.bms.charge_rate
            return self.charge_a_full * (rate / 255.0 if rate < 255 else REDUCED_FRACTION)
        return self.charge_a_full

    def version_number(self):
        """The VE.Bus firmware number as the Multi reports it: the last 3 digits are `firmware`."""
        return 2629000 + self.firmware

    def winmon_reply(self, payload):
        """The reply payload to a Winmon command (`00 ID code ...`) addressed to this Multi.

        Software version (MK2 protocol 3.14): 0x05 -> `00 ID 82 lo hi` (bits 0..15), 0x06 ->
        `00 ID 83 lo hi` (bits 16..31). 0x30 read RAM var -> `00 ID 85 lo hi` (RAM read ok; the
        value is 0: the Multi's RAM is not modelled, a GX's polls only need their answer).
        Anything else: `00 ID 80` (command not supported).
        """
        msg_id, code = payload[1], payload[2]
        self.version_queries += 1
        v = self.version_number()
        if code == 0x05:
            return bytes((0x00, msg_id, 0x82, v & 0xFF, (v >> 8) & 0xFF))
        if code == 0x06:
            return bytes((0x00, msg_id, 0x83, (v >> 16) & 0xFF, (v >> 24) & 0xFF))
        if code == 0x30:
            return bytes((0x00, msg_id, 0x85, 0x00, 0x00))
        return bytes((0x00, msg_id, 0x80))

    def reports_ac(self, now):
        """LED frame bit 0 "mains". Simulator's assumption: a Multi switched off still tells
        that AC is present only from firmware 489 (the one that works with the BMS natively);
        older ones cannot, which is what the BMS's mains detector input is for."""
        if not self.ac_in:
            return False
        return self.firmware >= 489 or self.mode(now) not in ("off", "low_power")

    def inverting(self, now):
        """True when the Multi feeds its AC loads from the battery."""
        if self.ac_in:
            return False
        return self.mode(now) in ("on", "inverter_only")
