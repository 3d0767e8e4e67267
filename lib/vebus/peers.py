"""The catalogue's messages from the other side of the bus: the frames a Multi and a GX send (for
simulators, tests and host tools) and readers of the BMS's own frames. Every inferred byte comes
from vebus.catalogue's numbers, which say what is confirmed and what is inferred; the confirmed
fields of the Multi's frames that a board never reads are defined here. A board never imports
this module, so none of it takes RAM there.
"""

from vebus.catalogue import (
    ANSWER_LEN,
    ANSWER_VERSION,
    BIT0,
    LED_LEN,
    LED_ON,
    LED_SW_CHARGE,
    LED_SW_INVERT,
    LED_SWITCH,
    MSG_CONDITION,
    MSG_INFO,
    MSG_LED,
    MSG_PROBE,
    MSG_WINMON,
    PROBE_BMS,
    PROBE_LEN,
    S16,
    STATUS_LEN,
    STATUS_SUB,
    SWITCH_CHARGER_ONLY,
    SWITCH_INVERTER_ONLY,
    SWITCH_ON,
    SYNC_LEN,
    U8,
    U12,
    U16,
    get,
    put,
)
from vebus.frame import SYNC_MARK

# --- the fields of the Multi's frames a board never reads (CONFIRMED; sources in vebus.catalogue,
# where each message's section is) ---------------------------------------------------------------
SYNC_STATUS = 1 << 4 | U8  # unknown meaning
SYNC_STAMP = 2 << 4 | U16  # about 90 us per count
WINMON_ID = 1 << 4 | U8
WINMON_CODE = 2 << 4 | U8
WRITE_VIA_ID = 0x37
WRITE_FLAG_RAM = 0x02  # WriteViaID flags: RAM var, no EEPROM write (esp32ess)
SWITCH_STATE = 1 << 4 | U8  # 4 off, 5 charger only, 6 inverter only, 7 on
LED_BLINK = 3 << 4 | U8  # bit mask
LED_STATUS = 4 << 4 | U8  # 2 = battery low
LED_AC_MIN = 6 << 4 | U16  # 0.1 A
LED_AC_MAX = 8 << 4 | U16  # 0.1 A
LED_AC_ACTUAL = 10 << 4 | U16  # 0.1 A
LED_STATUS_BATTERY_LOW = 2
COND_INVERT_OK = 2 << 4 | BIT0
COND_DC_CURRENT = 5 << 4 | S16  # 0.1 A
COND_LEN = 13
AC_FREQ = 2 << 4 | U16  # mHz
AC_STAMP = 5 << 4 | U16  # about 90 us per count
AC_PHASE = 11 << 4 | U8
AC_DC_VOLTAGE = 12 << 4 | U12  # 1/50 V
AC_LEN = 15
# The captured payload (esp32ess): the bytes not decoded yet are kept as they were seen.
AC_TEMPLATE = b"\xe4\x80\x50\xc3\x40\x0d\x03\x00\x0e\x00\x00\x00\xa8\x09\x00"


def build_sync(p, status, stamp):
    """Payload of a sync frame (for a simulated Multi): 55 status tL tH."""
    p[0] = SYNC_MARK
    p[1] = status & 0xFF
    put(p, SYNC_STAMP, stamp)
    return SYNC_LEN


def build_write_via_id(p, msg_id, var_id, value, flags=WRITE_FLAG_RAM):
    """`00 ID 37 flags var lo hi` (value: a signed or unsigned 16-bit number)."""
    p[0] = MSG_WINMON
    p[1] = msg_id & 0xFF
    p[2] = WRITE_VIA_ID
    p[3] = flags
    p[4] = var_id & 0xFF
    p[5] = value & 0xFF
    p[6] = (value >> 8) & 0xFF
    return 7


def switch_register(state):
    """The inverse of switch_state, for a simulated Multi (INFERRED)."""
    reg = 0
    if state == SWITCH_ON or state == SWITCH_CHARGER_ONLY:
        reg |= LED_SW_CHARGE
    if state == SWITCH_ON or state == SWITCH_INVERTER_ONLY:
        reg |= LED_SW_INVERT
    return reg


def _zero(p, n, msg):
    p[0] = msg
    for k in range(1, n):
        p[k] = 0


def build_led(p, leds_on, leds_blink, status, ac_min, ac_max, ac_limit, switch_register):
    """0x41 as a Multi sends it (bytes not decoded are 0)."""
    _zero(p, LED_LEN, MSG_LED)
    put(p, LED_ON, leds_on)
    put(p, LED_BLINK, leds_blink)
    put(p, LED_STATUS, status)
    put(p, LED_AC_MIN, ac_min)
    put(p, LED_AC_MAX, ac_max)
    put(p, LED_AC_ACTUAL, ac_limit)
    put(p, LED_SWITCH, switch_register)
    return LED_LEN


def build_condition(p, invert_ok, dc_current_x10):
    """0x80 as a Multi sends it (bytes not decoded are 0)."""
    _zero(p, COND_LEN, MSG_CONDITION)
    put(p, COND_INVERT_OK, 1 if invert_ok else 0)
    put(p, COND_DC_CURRENT, dc_current_x10)
    return COND_LEN


def build_ac_info(p, freq_mhz, dc_voltage_x50, phase=0, stamp=0x030D):
    """0xE4 as a Multi sends it (bytes not decoded as in the captured frame)."""
    for k in range(AC_LEN):
        p[k] = AC_TEMPLATE[k]
    put(p, AC_FREQ, freq_mhz)
    put(p, AC_STAMP, stamp)
    put(p, AC_PHASE, phase)
    put(p, AC_DC_VOLTAGE, dc_voltage_x50)
    return AC_LEN


def build_probe(p, kind=PROBE_BMS):
    """The GX's probe as VE.Bus data: 21 FF FF FF FF kind (raw-bus use INFERRED)."""
    p[0] = MSG_PROBE
    for k in range(1, 5):
        p[k] = 0xFF
    p[5] = kind
    return PROBE_LEN


def answer_version(p, plen):
    """The BMS version in a probe answer p[0:plen]; -1 if it is not one."""
    if plen < ANSWER_LEN or p[0] != MSG_INFO or p[5] != PROBE_BMS:
        return -1
    return get(p, ANSWER_VERSION)


def is_bms_status(p, plen):
    return plen >= STATUS_LEN and p[0] == MSG_INFO and p[5] == STATUS_SUB
