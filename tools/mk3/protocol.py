"""What the MK2 protocol's requests and replies mean: pure functions on de-framed bytes.

The framing (`len FF cmd data... cs`, checksums, the decoder) is lib/vebus's `vebus.mk2`; this
module only knows what goes inside. `body` below is a frame without its length byte and checksum:
body[0] is FF for an interface reply (body[1] = the command letter), or the VE.Bus frame type
(0x20 info frame, 0x41 configuration / LED frame) for data the Multi sent.

Sources: Victron's "Interfacing with VE.Bus products - MK2 protocol" (3.14) as used by the
MIT-licensed j9brown/victron-mk3 and other open clients (docs/protocol.md). What a field means is
theirs; the code is ours.
"""

from vebus.describe import DEVICE_STATES

# ---- requests: (command letter, data) ------------------------------------------------------

VERSION = (ord("V"), b"")
LEDS = (ord("L"), b"")
DC_INFO = (ord("F"), b"\x00")
CONFIG_INFO = (ord("F"), b"\x05")


def select_address(address):
    """'A' with mode 1 = set: talk to the device at this VE.Bus address (0 = the first Multi)."""
    if not 0 <= address <= 255:
        raise ValueError("address must be 0..255")
    return ord("A"), bytes((0x01, address))


def ac_info(phase=1):
    """'F' 1..4: AC info of phase L1..L4."""
    if not 1 <= phase <= 4:
        raise ValueError("phase must be 1..4")
    return ord("F"), bytes((phase,))


WINMON = b"WXYZ"  # the four letters of a Winmon command; the reply repeats the letter used
CMD_READ_RAM = 0x30
CMD_RAM_INFO = 0x36
RESP_READ_RAM_OK = 0x85
RESP_RAM_INFO = 0x8E
RESP_NOT_SUPPORTED = 0x90


def read_ram(letter, ram_a, ram_b=None):
    """Winmon 0x30: read one or two RAM variables (ids 0..255)."""
    ids = (ram_a,) if ram_b is None else (ram_a, ram_b)
    for i in ids:
        if not 0 <= i <= 255:
            raise ValueError("RAM id must be 0..255")
    return letter, bytes((CMD_READ_RAM,) + ids)


def ram_info(letter, ram_id):
    """Winmon 0x36: scale and offset of a RAM variable."""
    return letter, bytes((CMD_RAM_INFO, ram_id & 0xFF, ram_id >> 8))


# ---- names ---------------------------------------------------------------------------------

LED_NAMES = (
    "mains",
    "absorption",
    "bulk",
    "float",
    "inverter",
    "overload",
    "low battery",
    "temperature",
)
SWITCH_BITS = (
    "remote charge",
    "remote invert",
    "front switch up",
    "front switch down",
    "charge",
    "invert",
    "onboard remote invert",
    "remote generator",
)

# RAM ids of the standard variables (MK2 protocol document)
RAM_UBAT = 4
RAM_IBAT = 5
RAM_INVERTER_PERIOD = 7
DEFAULT_SCALES = {RAM_UBAT: (0.01, 0, False), RAM_IBAT: (0.1, 0, True)}


def bit_names(value, names):
    return [n for k, n in enumerate(names) if value & (1 << k)]


def device_state_name(value):
    return DEVICE_STATES[value] if value < len(DEVICE_STATES) else "unknown (%d)" % value


def switch_mode(register):
    """The Multi's resolved switch state from the switch register's charge/invert bits."""
    charge, invert = bool(register & 0x10), bool(register & 0x20)
    if charge and invert:
        return "on"
    if charge:
        return "charger-only"
    if invert:
        return "inverter-only"
    return "off"


# ---- replies -------------------------------------------------------------------------------


def is_reply(body, letter):
    return len(body) >= 2 and body[0] == 0xFF and body[1] == letter


def parse_version(body):
    """'V' reply: u32 version of the interface, then a mode byte."""
    if not is_reply(body, ord("V")) or len(body) < 6:
        return None
    out = {"interface_version": int.from_bytes(bytes(body[2:6]), "little")}
    if len(body) >= 7:
        out["interface_mode"] = body[6]
    return out


def parse_address(body):
    """'A' reply: mode, selected address."""
    if not is_reply(body, ord("A")) or len(body) < 4:
        return None
    return {"address": body[3]}


def parse_leds(body):
    """'L' reply: LEDs on, LEDs blinking."""
    if not is_reply(body, ord("L")) or len(body) < 4:
        return None
    return {"leds_on": bit_names(body[2], LED_NAMES), "leds_blink": bit_names(body[3], LED_NAMES)}


def _uint(raw):
    return int.from_bytes(bytes(raw), "little")


def scale_value(raw, scale):
    """A RAM variable's bytes as a number: (scale, offset, signed) from ram_info or defaults."""
    factor, offset, signed = scale
    v = _uint(raw)
    bits = 8 * len(raw)
    if signed and v >= 1 << (bits - 1):
        v -= 1 << bits
    return factor * (v + offset)


def parse_scale(body):
    """Winmon 0x36 reply `8E sl sh 8F ol oh` -> (factor, offset, signed) or None."""
    if len(body) < 8 or body[0] != 0xFF or body[2] != RESP_RAM_INFO or body[5] != 0x8F:
        return None
    s = body[3] | body[4] << 8
    signed = s >= 0x8000
    if signed:
        s = 0x10000 - s
    factor = 1 / (0x8000 - s) if s >= 0x4000 else float(s)
    offset = body[6] | body[7] << 8
    if offset >= 0x8000:
        offset -= 0x10000
    return factor, offset, signed


def parse_ram(body):
    """Winmon 0x30 reply: `85 lo hi [lo hi]` -> list of raw u16 values; [] if not supported."""
    if len(body) < 3 or body[0] != 0xFF or body[1] not in WINMON:
        return None
    if body[2] == RESP_NOT_SUPPORTED:
        return []
    if body[2] != RESP_READ_RAM_OK:
        return None
    vals = []
    for k in range(3, len(body) - 1, 2):
        vals.append(body[k] | body[k + 1] << 8)
    return vals


def parse_info(body, scales=None):
    """A 0x20 info frame: DC info (body[5] == 0x0C) or AC info (0x05..0x0B); None otherwise."""
    if len(body) < 15 or body[0] != 0x20:
        return None
    sc = dict(DEFAULT_SCALES)
    if scales:
        sc.update(scales)
    kind = body[5]
    if kind == 0x0C:
        return {
            "dc_voltage": round(scale_value(body[6:8], sc[RAM_UBAT]), 2),
            "dc_current_inverter": round(scale_value(body[8:11], sc[RAM_IBAT]), 1),
            "dc_current_charger": round(scale_value(body[11:14], sc[RAM_IBAT]), 1),
        }
    if 0x05 <= kind <= 0x0B:
        return {"device_state": device_state_name(body[4]), "ac_phase_info": kind}
    return None


def parse_config(body):
    """A 0x41 frame after 'F' 5: AC input current limits and the switch register."""
    if len(body) < 13 or body[0] != 0x41:
        return None
    flags = body[5]
    reg = body[12]
    return {
        "dmc_dedicated": bool(flags & 0x08),
        "remote_panel_detected": bool(flags & 0x80),
        "current_limit_min": (body[6] | body[7] << 8) / 10,
        "current_limit_max": (body[8] | body[9] << 8) / 10,
        "current_limit": (body[10] | body[11] << 8) / 10,
        "switch": switch_mode(reg),
        "switch_register": bit_names(reg, SWITCH_BITS),
    }
