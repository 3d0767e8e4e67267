"""Shared numbers of firmware/core: output levels, Multi modes, reasons, states.

Reasons are bits of one int (several can hold at once). Multi modes use the VE.Bus switch-frame
(0x3F) values: the bus side sends them as is. Their names in the manual's words are in texts.py
(`reason_name(bits)` gives the most severe one's), which the running firmware does not import.
The board does not import this module either: each board module keeps private copies of the
numbers it uses (folded into its bytecode: no names in RAM), which tests/host/test_consts.py
keeps equal to these; tests and host tools read them here.
"""

from micropython import const

# Output levels of load disconnect / charge disconnect / pre-alarm.
FLOAT = const(0)  # high impedance: loads off / chargers off / no pre-alarm
HIGH = const(1)  # driven high: loads on / chargers on / pre-alarm

# Multi modes (VE.Bus 0x3F switch frame values). MODE_NONE: a GX / DMC asks nothing.
MODE_NONE = const(0)
MODE_OFF = const(4)  # off / sleep: the Multi held in low power
MODE_CHARGER_ONLY = const(5)
MODE_INVERTER_ONLY = const(6)
MODE_ON = const(7)

# Reasons (bits). The first four groups come from the BTV loop; the rest from the system.
R_LOW_CELL = const(0x0001)
R_HIGH_CELL = const(0x0002)
R_LOW_TEMP = const(0x0004)
R_HIGH_TEMP = const(0x0008)
R_PREALARM = const(0x0010)
R_OPEN_LOOP = const(0x0020)
R_STUCK = const(0x0040)  # an input did not follow the self-test pulse
R_STALE = const(0x0080)  # no fresh sample within stale_ms
R_UNKNOWN = const(0x0100)  # no debounced reading yet (just booted)
R_REMOTE_OFF = const(0x0200)
R_STARTUP = const(0x0400)
R_NO_AC = const(0x0800)
R_VEBUS_ERROR = const(0x1000)
R_LATCH_LOST = const(0x2000)  # the latched-fault record could not be read: assume latched
R_CHARGE_BLOCK = const(0x4000)  # the charge line says no; the wiring cannot tell high cell from
#                                 low temperature (btv_wire.py)
R_LOOP_UNSURE = const(0x8000)  # with R_OPEN_LOOP: every line down, which this wiring cannot tell
#                                from low cell + charge block (a cold, empty battery)

# Groups.
R_LOOP_FAULT = const(0x81E0)  # open loop, stuck, stale, unknown: the loop cannot be trusted
R_LATCHING = const(0xA0E0)  # faults that latch (not "no reading yet": that is start-up)
R_NO_CHARGE = const(0x400E)  # high cell, low / high temperature, charge block: red LED

# Protection states (what a display shows; the outputs carry the decisions).
ST_STARTUP = const(0)
ST_RUN = const(1)
ST_PREALARM = const(2)
ST_CHARGE_OFF = const(3)  # high cell / temperature: chargers off, loads on
ST_LOW_CELL_OFF = const(4)  # loads off after low cell
ST_LOOP_FAULT = const(5)  # open loop / loop fault, latched
ST_REMOTE_OFF = const(6)
ST_VEBUS_ERROR = const(7)

# Event codes of firmware/core (events.py's ring and eventfile.py's records; 32 and up are the
# board's, firmware/app_texts.py). Their words are in texts.py.
EV_BOOT = const(1)
EV_STARTUP_DONE = const(2)
EV_PREALARM_ON = const(3)
EV_PREALARM_OFF = const(4)
EV_LOAD_OFF = const(5)
EV_LOAD_ON = const(6)
EV_CHARGE_OFF = const(7)
EV_CHARGE_ON = const(8)
EV_MULTI = const(9)
EV_MAINS_RESTART = const(10)
EV_FAULT_LATCHED = const(11)
EV_FAULT_CLEARED = const(12)
EV_REMOTE = const(13)
EV_ERROR15 = const(14)
EV_ERROR7 = const(15)
EV_ERROR_CLEARED = const(16)
EV_LOW_POWER = const(17)
EV_LOG_LOST = const(18)  # events dropped before they reached flash (arg = how many)
EV_MULTI_SWITCHED = const(19)  # the Multi reports itself switched off (arg 1) / on again (arg 0)

# Status and cell LED patterns (firmware/core/leds.py draws them).
PAT_OFF = const(0)
PAT_ON = const(1)
PAT_HEARTBEAT = const(2)
PAT_FAULTY_APP = const(3)
PAT_LISTEN = const(4)

# Change bits of Protection's Outputs.changed: what changed in a step (firmware/core/signals.py).
CH_LOAD = const(0x01)
CH_CHARGE = const(0x02)
CH_PREALARM = const(0x04)
CH_MODE = const(0x08)
CH_LATCH = const(0x10)
CH_ERROR = const(0x20)
CH_LOW_POWER = const(0x40)

# The frame a slot carries (firmware/bms/role.py keeps private copies: BmsRole.last_tx, .sent)
TX_NONE = const(0)
TX_PROBE_ANSWER = const(1)
TX_SWITCH = const(2)
TX_VERSION = const(3)
TX_STATUS = const(4)
TX_RELAY = const(5)
