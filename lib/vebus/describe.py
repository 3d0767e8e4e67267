"""The catalogue's words: every message's name, CONFIRMED / INFERRED tag and public source, every
field's name and unit, the Winmon code names; describe() names a payload's message and fields.

For host tools and logs only: describe() allocates a list per call, and a board never imports
this module, so none of these strings take RAM there (the firmware reads fields with
catalogue.get). The numbers (message types, field offsets and kinds) stay in vebus.catalogue,
and in vebus.peers for the fields a board never reads.

    describe(is_sync, p, plen) -> (name, tag, [(field name, value), ...])
    INFO_AC_FIELDS / INFO_DC_FIELDS: the Multi's 0x20 info frames, DEVICE_STATES their state names
    MESSAGES: (type, name, tag, source keys, ((field name, field, unit), ...)); SOURCES[key]
    winmon_name(code) -> "WriteViaID", ... or None
"""

from vebus import catalogue as cat
from vebus import peers
from vebus.catalogue import (
    CONFIRMED,
    INFERRED,
    MSG_INFO,
    MSG_PROBE,
    MSG_SWITCH,
    MSG_WINMON,
    get,
    probe_kind,
)
from vebus.frame import SYNC_MARK
from vebus.peers import answer_version, is_bms_status

SOURCES = {
    "esp32ess": "pv-baxi/esp32ess docs/README.md",
    "mk2doc": "Victron 'Interfacing with VE.Bus products - MK2 protocol' 3.14",
    "pepe": "PepeTheFroggie/Victron-VE.Bus---esp32",
    "vebus": "GitNik1/VEBus src/VEBusDefinition.h",
    "venus": "Venus OS mk2 driver / victronenergy/venus#89",
}

# Fields of each message, in payload order: (name, catalogue field, unit).
SYNC_FIELDS = (
    ("status", peers.SYNC_STATUS, "unknown meaning"),
    ("timestamp", peers.SYNC_STAMP, "about 90 us per count"),
)
WINMON_FIELDS = (("id", peers.WINMON_ID, ""), ("code", peers.WINMON_CODE, ""))
SWITCH_FIELDS = (("state", peers.SWITCH_STATE, "4 off, 5 charger only, 6 inverter only, 7 on"),)
LED_FIELDS = (
    ("leds_on", cat.LED_ON, "bit mask"),
    ("leds_blink", peers.LED_BLINK, "bit mask"),
    ("status", peers.LED_STATUS, "2 = battery low"),
    ("ac_limit_min", peers.LED_AC_MIN, "0.1 A"),
    ("ac_limit_max", peers.LED_AC_MAX, "0.1 A"),
    ("ac_limit", peers.LED_AC_ACTUAL, "0.1 A"),
    ("switch_register", cat.LED_SWITCH, ""),
)
COND_FIELDS = (
    ("dc_level_allows_inverting", peers.COND_INVERT_OK, ""),
    ("dc_current", peers.COND_DC_CURRENT, "0.1 A"),
)
AC_FIELDS = (
    ("frequency", peers.AC_FREQ, "mHz"),
    ("timestamp", peers.AC_STAMP, "about 90 us per count"),
    ("phase", peers.AC_PHASE, ""),
    ("dc_voltage", peers.AC_DC_VOLTAGE, "1/50 V"),
)
PROBE_FIELDS = (("probed", cat.PROBE_KIND, "0x83 BMS, 0x80 DMC"),)
ANSWER_FIELDS = PROBE_FIELDS + (("version", cat.ANSWER_VERSION, "product * 1000 + firmware"),)
# 0x20 info frames of the Multi (the answers to MK2 'F' 0..4, also seen on the raw bus), CONFIRMED:
# the MK2 protocol document and the open decoders built on it agree. payload[5] tells the kind:
# 0x05..0x0B AC info of a phase, 0x0C DC info. Values are raw: their scales are the Multi's RAM
# variable info (Winmon 0x36; tools.mk3 reads them), the current factors multiply the AC currents.
INFO_DC = 0x0C
INFO_PHASES = (
    (0x05, "L4"),
    (0x06, "L3"),
    (0x07, "L2"),
    (0x08, "L1, 1 phase"),
    (0x09, "L1 of 2 phases"),
    (0x0A, "L1 of 3 phases"),
    (0x0B, "L1 of 4 phases"),
)
DEVICE_STATES = (
    "down",
    "startup",
    "off",
    "slave",
    "invert full",
    "invert half",
    "invert AES",
    "power assist",
    "bypass",
    "charge",
)
# (name, offset, bytes, signed, unit); DC currents are 24 bits, signed as RAM var 5 is.
INFO_AC_FIELDS = (
    ("backfeed_factor", 1, 1, False, "multiplies mains_current"),
    ("inverter_factor", 2, 1, False, "multiplies inverter_current"),
    ("state", 4, 1, False, "device state"),
    ("phase", 5, 1, False, "0x05..0x0B"),
    ("mains_voltage", 6, 2, False, "RAM var 0 scale"),
    ("mains_current", 8, 2, True, "RAM var 1 scale x backfeed_factor"),
    ("inverter_voltage", 10, 2, False, "RAM var 2 scale"),
    ("inverter_current", 12, 2, True, "RAM var 3 scale x inverter_factor"),
    ("mains_period", 14, 1, False, "RAM var 8 scale"),
)
INFO_DC_FIELDS = (
    ("kind", 5, 1, False, "0x0C DC"),
    ("dc_voltage", 6, 2, False, "RAM var 4 scale (0.01 V)"),
    ("dc_current_inverter", 8, 3, True, "RAM var 5 scale (0.1 A)"),
    ("dc_current_charger", 11, 3, True, "RAM var 5 scale (0.1 A)"),
    ("inverter_period", 14, 1, False, "RAM var 7 scale"),
)
INFO_LEN = 15
STATUS_FIELDS = (
    ("flags", cat.STATUS_FLAGS, "1 low cell, 2 high cell, 4 error, 8 pre-alarm"),
    ("charge_rate", cat.STATUS_RATE, "AllowToChargeRate, 0..255"),
    ("error_code", cat.STATUS_CODE, ""),
)

# --- the table: (type, name, tag, source, fields) -----------------------------------------
MESSAGES = (
    (SYNC_MARK, "sync", CONFIRMED, "esp32ess", SYNC_FIELDS),
    (MSG_WINMON, "winmon", CONFIRMED, "esp32ess, mk2doc", WINMON_FIELDS),
    (MSG_SWITCH, "switch", CONFIRMED, "pepe", SWITCH_FIELDS),
    (cat.MSG_LED, "led", CONFIRMED, "pepe, vebus", LED_FIELDS),
    (cat.MSG_CONDITION, "condition", CONFIRMED, "pepe, vebus", COND_FIELDS),
    (cat.MSG_AC_INFO, "ac_info", CONFIRMED, "esp32ess, pepe, vebus", AC_FIELDS),
    (MSG_PROBE, "bms_probe", INFERRED, "venus (MK2 level confirmed)", PROBE_FIELDS),
    (MSG_INFO, "bms_probe_answer", INFERRED, "venus (MK2 level confirmed)", ANSWER_FIELDS),
    (MSG_INFO, "bms_status", INFERRED, "venus (signals only)", STATUS_FIELDS),
)

# Winmon codes (Victron MK2 protocol 3.14).
WINMON_COMMANDS = (
    (0x05, "SendSoftwareVersionPart0"),
    (0x06, "SendSoftwareVersionPart1"),
    (0x0E, "GetSetDeviceState"),
    (0x30, "ReadRAMVar"),
    (0x31, "ReadSetting"),
    (0x32, "WriteRAMVar"),
    (0x33, "WriteSetting"),
    (0x34, "WriteData"),
    (0x35, "GetSettingInfo"),
    (0x36, "GetRAMVarInfo"),
    (0x37, "WriteViaID"),
    (0x38, "ReadSnapShot"),
)
WINMON_RESPONSES = (
    (0x80, "CommandNotSupported"),
    # 0x82 / 0x83: replies to 0x05 / 0x06 (low / high 16 bits of the firmware version) as
    # firmware/bms reads the public MK2 drivers; no listed source names them.
    (0x82, "SoftwareVersionPart0"),
    (0x83, "SoftwareVersionPart1"),
    (0x85, "ReadRAMOK"),
    (0x86, "ReadSettingOK"),
    (0x87, "WriteRAMOK"),
    (0x88, "WriteSettingOK"),
    (0x94, "DeviceState"),
    (0x9B, "AccessLevelRequired"),
)
SWITCH_NAMES = ((4, "off"), (5, "charger-only"), (6, "inverter-only"), (7, "on"))


def winmon_name(code):
    """Name of a Winmon command or response code; None if not in the tables."""
    for table in (WINMON_COMMANDS, WINMON_RESPONSES):
        for c, name in table:
            if c == code:
                return name
    return None


def _fits(field, plen):
    need = (1, 2, 2, 2, 1, 4)[field & 15]  # bytes of each kind (catalogue U8 ... U32)
    return (field >> 4) + need <= plen


def _info(p, plen):
    """A Multi's 0x20 info frame: ("info_dc" | "info_ac", CONFIRMED, fields)."""
    kind = p[5] if plen > 5 else -1
    if plen < INFO_LEN or not 0x05 <= kind <= INFO_DC:
        return "info", None, []  # another 0x20 frame: seen on the bus, layout not decoded
    fields = INFO_DC_FIELDS if kind == INFO_DC else INFO_AC_FIELDS
    out = []
    for name, o, n, signed, _ in fields:
        v = int.from_bytes(bytes(p[o : o + n]), "little")
        if signed and v >= 1 << (8 * n - 1):
            v -= 1 << (8 * n)
        out.append((name, v))
    if kind == INFO_DC:
        return "info_dc", CONFIRMED, out
    out.append(("phase_name", [name for k, name in INFO_PHASES if k == kind][0]))
    state = p[4]
    out.append(("state_name", DEVICE_STATES[state] if state < len(DEVICE_STATES) else "unknown"))
    return "info_ac", CONFIRMED, out


def describe(is_sync, p, plen):
    """(name, tag, [(field, value), ...]) of payload p[0:plen]. Allocates: host tools and logs."""
    if is_sync:
        entry = MESSAGES[0]
    else:
        msg = p[0] if plen else -1
        if msg == MSG_PROBE and probe_kind(p, plen) >= 0:
            return "bms_probe", INFERRED, [("probed", p[5])]
        if msg == MSG_INFO and answer_version(p, plen) >= 0:
            return "bms_probe_answer", INFERRED, [("version", answer_version(p, plen))]
        if msg == MSG_INFO and is_bms_status(p, plen):
            return "bms_status", INFERRED, [(f[0], get(p, f[1])) for f in STATUS_FIELDS]
        if msg == MSG_INFO:
            return _info(p, plen)
        entry = None
        for e in MESSAGES[1:]:
            if e[0] == msg and entry is None:
                entry = e
        if entry is None:
            return "unknown", None, []
    out = [(f[0], get(p, f[1])) for f in entry[4] if _fits(f[1], plen)]
    if entry[0] == MSG_WINMON and plen >= 3:
        out.append(("name", winmon_name(p[2])))
        out.append(("args", bytes(p[3:plen]).hex()))
    if entry[0] == MSG_SWITCH and plen >= 2:
        for code, name in SWITCH_NAMES:
            if code == p[1]:
                out.append(("name", name))
    return entry[1], entry[2], out
