"""Message catalogue: every VE.Bus payload read or sent here, tagged CONFIRMED or INFERRED.

A payload is the de-stuffed part of a frame from index 4 (payload[k] = frame byte [k + 4]; the
docs give frame indices). Build functions write a payload into a caller's buffer and return its
length (then vebus.encode_data puts it in a frame); field readers take a payload and allocate
nothing. vebus.describe names a payload's message and fields for host tools and logs.

CONFIRMED: public open-source decoders and real captures agree (source named at each message
here, and in vebus.describe.SOURCES). INFERRED: no public capture shows it. Everything inferred
lives in this one module (the BMS's address, probe answer and status frame), so a bench capture
can correct it in one place; the firmware sends none of it unless vebus_mode = "bms".
docs/protocol.md says how to confirm each.

Only numbers and the functions a board uses live here, and every inferred one: each public name
a board module keeps takes RAM there. The builders and readers a board never runs (the frames a
Multi and a GX send, for simulators and tests; readers of the BMS's own frames) are in
vebus.peers, made from these numbers and the confirmed fields a board never reads, which peers
defines. The words (each message's name, tag and source, each field's name and unit, the Winmon
code names) are in vebus.describe, which a board never imports, so they take no RAM there
(vebus.describe.MESSAGES is the table of every message).
"""

from micropython import const

from vebus.frame import ADDR_CONTROLLER

CONFIRMED = "confirmed"
INFERRED = "inferred"

# --- message types (payload[0]) ------------------------------------------------------------
MSG_WINMON = const(0x00)
MSG_INFO = const(0x20)
MSG_PROBE = const(0x21)
MSG_SWITCH = const(0x3F)
MSG_LED = const(0x41)
MSG_CONDITION = const(0x80)
MSG_AC_INFO = const(0xE4)

# --- field kinds; a field is one int: payload offset << 4 | kind (one small int, no tuple to
# keep in RAM; its name and unit are in vebus.describe) ----------------------------------------
U8 = const(0)
U16 = const(1)  # little endian
S16 = const(2)  # little endian, signed
U12 = const(3)  # low 12 bits of a little-endian u16
BIT0 = const(4)
U32 = const(5)  # little endian


def get(p, field):
    """Value of field (offset << 4 | kind) in payload p. Allocates nothing."""
    o = field >> 4
    kind = field & 15
    if kind == U8:
        return p[o]
    if kind == BIT0:
        return p[o] & 1
    v = p[o] | (p[o + 1] << 8)
    if kind == U16:
        return v
    if kind == S16:
        return v - 0x10000 if v & 0x8000 else v
    if kind == U12:
        return v & 0x0FFF
    return v | (p[o + 2] << 16) | (p[o + 3] << 24)


def put(p, field, v):
    """Write v into payload p at field's place (U12 keeps the top 4 bits already there)."""
    o = field >> 4
    kind = field & 15
    if kind == U8:
        p[o] = v & 0xFF
    elif kind == BIT0:
        p[o] = (p[o] & 0xFE) | (v & 1)
    elif kind == U12:
        p[o] = v & 0xFF
        p[o + 1] = (p[o + 1] & 0xF0) | ((v >> 8) & 0x0F)
    else:
        p[o] = v & 0xFF
        p[o + 1] = (v >> 8) & 0xFF
        if kind == U32:
            p[o + 2] = (v >> 16) & 0xFF
            p[o + 3] = (v >> 24) & 0xFF


# --- sync frame (83 83 FD N 55 xx tL tH CS FF) -- CONFIRMED, esp32ess docs/README.md ---------
SYNC_LEN = const(4)


# --- 0x00 Winmon command / response -- CONFIRMED, esp32ess; codes: Victron MK2 protocol 3.14 --
# `00 ID code args...`: ID is chosen by the sender and echoed in the reply (Venus OS uses
# 0xE4..0xE7: the BMS avoids them, tests/test_vebus_catalogue.py).


def build_winmon(p, msg_id, code, args=b"", alen=-1):
    """`00 ID code args...`; returns the payload length."""
    if alen < 0:
        alen = len(args)
    p[0] = MSG_WINMON
    p[1] = msg_id & 0xFF
    p[2] = code & 0xFF
    for k in range(alen):
        p[3 + k] = args[k]
    return 3 + alen


# --- 0x3F switch -- CONFIRMED, PEPE esp32ess/vebusstuff.ino ---------------------------------
# `3F s 00 00 00` from a controller.
SWITCH_SLEEP = const(0x04)  # sleep / off
SWITCH_CHARGER_ONLY = const(0x05)
SWITCH_INVERTER_ONLY = const(0x06)
SWITCH_ON = const(0x07)
SWITCH_LEN = const(5)
# How often a GX / DMC repeats the switch request it keeps -- INFERRED: no public source gives the
# period. A receiver holds a request until it changes or goes unrepeated for a few periods.
SWITCH_REPEAT_MS = const(10000)  # INFERRED


def build_switch(p, state):
    p[0] = MSG_SWITCH
    p[1] = state & 0xFF
    p[2] = 0
    p[3] = 0
    p[4] = 0
    return SWITCH_LEN


# --- 0x41 MasterMultiLED -- CONFIRMED, PEPE / VEBus decoders (19-byte frame) -----------------
LED_ON = const(2 << 4 | U8)  # bit mask
LED_SWITCH = const(12 << 4 | U8)
LED_LEN = const(13)
# The switch register's bits -- INFERRED on the raw bus (the MK2 protocol document names them for
# the 0x41 frame an MK3 passes on; no raw capture of a Multi switched off yet): bit 4 the charger
# and bit 5 the inverter switched in; both clear = the Multi switched off.
LED_SW_CHARGE = const(0x10)
LED_SW_INVERT = const(0x20)


def switch_state(register):
    """The Multi's switch state (SWITCH_* code) from its LED frame's switch register (INFERRED)."""
    if register & LED_SW_CHARGE:
        return SWITCH_ON if register & LED_SW_INVERT else SWITCH_CHARGER_ONLY
    return SWITCH_INVERTER_ONLY if register & LED_SW_INVERT else SWITCH_SLEEP


# --- 0x80 charger/inverter condition, 0xE4 AC phase info -- CONFIRMED: a board reads no field of
# them; their fields (and the Multi's other fields a board never reads) are in vebus.peers.


# --- the VE.Bus BMS's own frames -------------------------------------------------------------
# CONFIRMED (MK2 level, Venus OS mk2 code, docs/protocol.md): a GX probes with the MK2 frame
# `06 21 FF FF FF FF 83 4A` (a DMC: ... 80 4D) and expects an info frame starting 0x20 with
# byte [5] = 0x83 and the little-endian u32 BMS version at [6..9] (indices after the len byte).
# Venus OS treats version >= 1146100 as a BMS V2.
# INFERRED (no public capture): that these MK2 bytes travel on the raw bus as the payload of a
# data frame, the filler bytes [1..4] of the answer, the address the BMS sends from, and the
# whole status frame below.
BMS_ADDR = ADDR_CONTROLLER  # INFERRED: the BMS talks like a controller
BMS_V2_MIN_VERSION = 1146100  # CONFIRMED (Venus OS)
PROBE_BMS = const(0x83)  # CONFIRMED (MK2 level)
PROBE_DMC = const(0x80)  # CONFIRMED (MK2 level)
PROBE_LEN = const(6)  # 21 FF FF FF FF 83
PROBE_KIND = const(5 << 4 | U8)  # 0x83 BMS, 0x80 DMC
ANSWER_VERSION = const(6 << 4 | U32)  # product * 1000 + firmware
ANSWER_FILL = const(0xFF)  # INFERRED: bytes [1..4] of the answer, mirrored from the probe
ANSWER_LEN = const(10)


def probe_kind(p, plen):
    """PROBE_BMS / PROBE_DMC if p[0:plen] is a probe, else -1."""
    if plen != PROBE_LEN or p[0] != MSG_PROBE:
        return -1
    for k in range(1, 5):
        if p[k] != 0xFF:
            return -1
    return p[5] if p[5] == PROBE_BMS or p[5] == PROBE_DMC else -1


def build_probe_answer(p, version):
    """`20 FF FF FF FF 83 v0 v1 v2 v3` -- [0], [5], [6..9] CONFIRMED, [1..4] INFERRED."""
    p[0] = MSG_INFO
    for k in range(1, 5):
        p[k] = ANSWER_FILL
    p[5] = PROBE_BMS
    put(p, ANSWER_VERSION, version)
    return ANSWER_LEN


# BMS status frame -- INFERRED entirely (layout and interval): an info frame like the probe
# answer with its own sub id, then the signals the Multi's BMS assistant exposes (venus#89):
# LowCell, HighCell, Error, plus pre-alarm and the AllowToChargeRate value.
STATUS_SUB = const(0x84)  # INFERRED
STATUS_LOW_CELL = const(0x01)  # discharge not allowed
STATUS_HIGH_CELL = const(0x02)  # charge not allowed
STATUS_ERROR = const(0x04)
STATUS_PRE_ALARM = const(0x08)
STATUS_FLAGS = const(6 << 4 | U8)  # 1 low cell, 2 high cell, 4 error, 8 pre-alarm
STATUS_RATE = const(7 << 4 | U8)  # AllowToChargeRate, 0..255
STATUS_CODE = const(8 << 4 | U8)
STATUS_LEN = const(9)
STATUS_INTERVAL_MS = const(1000)  # INFERRED


def build_bms_status(p, allow_charge, allow_discharge, pre_alarm, error, rate=255, code=0):
    """`20 FF FF FF FF 84 flags rate code` (INFERRED)."""
    p[0] = MSG_INFO
    for k in range(1, 5):
        p[k] = ANSWER_FILL
    p[5] = STATUS_SUB
    f = 0
    if not allow_discharge:
        f |= STATUS_LOW_CELL
    if not allow_charge:
        f |= STATUS_HIGH_CELL
    if error:
        f |= STATUS_ERROR
    if pre_alarm:
        f |= STATUS_PRE_ALARM
    p[6] = f
    p[7] = rate & 0xFF
    p[8] = code & 0xFF
    return STATUS_LEN
