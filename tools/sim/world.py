"""Physics around the BMS: who draws and who delivers current, from the outputs and the Multi.

Current into the bank (amps, > 0 charges) each physics step:
- DC loads `load_a`, fed through load disconnect (floating = the BatteryProtect opens: 0 A);
- each Multi's own draw while inverting (AC loads on battery are the scenario's `load_a` too);
- chargers `charge_a` (solar, alternator), through charge disconnect (floating = off) and capped
  by the GX's DVCC limit when a GX is present;
- each Multi's charger: full / reduced / zero / emergency 5 A, AC in only;
- a constant-voltage taper: no charger pushes the bank above its absorption voltage
  (`ABSORPTION_V_CELL` x cells), as a real charger's CV phase does.
"""

from tools.sim import battery

MULTI_CHARGE_A_12V = 70.0  # a MultiPlus 12/3000/120 at 12 V; scaled by 12.8 / nominal volts
MULTI_IDLE_A_12V = 1.2  # the inverter's own draw on battery, at 12 V
ABSORPTION_V_CELL = 3.55  # 14.2 V per 12.8 V battery


def multi_charge_a(nominal_v):
    return MULTI_CHARGE_A_12V * 12.8 / nominal_v


def bank_current(now, bank, inputs, outputs, multis, gx):
    """Net amps into the bank now (and the parts, for the record)."""
    nominal = bank.nominal_v
    load = inputs["load_a"] if outputs["load_disconnect"] == "high" else 0.0
    idle = sum(MULTI_IDLE_A_12V * 12.8 / nominal for m in multis if m.inverting(now))
    ext = inputs["charge_a"] if outputs["charge_disconnect"] == "high" else 0.0
    if gx is not None and ext > 0.0:
        ext = min(ext, gx.dvcc_limit_a(now))
    charge = ext + sum(m.charge_amps(now) for m in multis if m.present)
    if charge > 0.0:
        charge = min(charge, cv_limit(bank))
    return charge - load - idle


def cv_limit(bank):
    """The most a charger can push before the bank sits at its absorption voltage."""
    cells = battery.CELLS * bank.series
    rest = 0.0
    for b in bank.batteries:
        for c in b.cells:
            rest += battery.ocv(c.soc) + c.vpol
    rest = rest / bank.strings
    headroom = ABSORPTION_V_CELL * cells - rest
    if headroom <= 0.0:
        return 0.0
    return headroom / (cells * battery.R0_OHM) * bank.strings
