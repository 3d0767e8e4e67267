"""The GX device (Cerbo GX, Venus OS) as the BMS sees it: behaviour only, no bytes.

It probes for a VE.Bus BMS until one answers with a V2 version (>= 1146100), then shows what the
BMS's status frames say as Venus OS does on D-Bus: /Bms/AllowToCharge, /Bms/AllowToDischarge,
/Bms/PreAlarm, /Bms/Error. With BmsType 2 (a VE.Bus BMS) DVCC sets the solar chargers' charge
current limit to 0 while charging is not allowed (systemcalc delegates/dvcc.py). Nothing heard
for `lost_after_s`: BMS connection lost, and the flags fall back to 0 (not allowed).
"""

V2_MIN_VERSION = 1146100
PROBE_EVERY_S = 5.0
SOLAR_MAX_A = 60.0  # the DVCC limit when charging is allowed (a typical solar charger)


class Gx:
    def __init__(self, lost_after_s=10.0):
        self.lost_after_s = lost_after_s
        self.bms_version = None  # from the probe answer
        self.heard_at = None
        self.allow_to_charge = 0
        self.allow_to_discharge = 0
        self.prealarm = 0
        self.error = 0
        self.command = None  # "on" | "off" | "charger_only" | None (sends nothing)
        self.next_probe = 0.0
        self.probes = 0

    def want_probe(self, now):
        if self.bms_version is not None or now < self.next_probe:
            return False
        self.next_probe = now + PROBE_EVERY_S
        self.probes += 1
        return True

    def heard_probe_answer(self, now, version):
        self.bms_version = version
        self.heard_at = now

    def heard_bms(self, now, allow_charge, allow_discharge, prealarm, error):
        """A BMS status frame. True if a flag changed (or the BMS came back)."""
        before = (self.connected(now), self.allow_to_charge, self.allow_to_discharge)
        before += (self.prealarm,)
        self.heard_at = now
        self.allow_to_charge = 1 if allow_charge else 0
        self.allow_to_discharge = 1 if allow_discharge else 0
        self.prealarm = 1 if prealarm else 0
        self.error = error
        return before != (True, self.allow_to_charge, self.allow_to_discharge, self.prealarm)

    def connected(self, now):
        return self.heard_at is not None and now - self.heard_at <= self.lost_after_s

    def is_v2(self):
        return self.bms_version is not None and self.bms_version >= V2_MIN_VERSION

    def flags(self, now):
        """(allow_to_charge, allow_to_discharge, prealarm) as the GX shows them now."""
        if not self.connected(now):
            return 0, 0, 0
        return self.allow_to_charge, self.allow_to_discharge, self.prealarm

    def dvcc_limit_a(self, now):
        allow_charge = self.flags(now)[0]
        return SOLAR_MAX_A if allow_charge else 0.0
