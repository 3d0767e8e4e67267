"""lib/vebus message catalogue: fields of the real frames; builders reproduce them exactly."""

import vebus_vectors

from firmware.bms.version import OUR_WINMON_ID
from vebus import ADDR_CONTROLLER, Decoder, encode_data, mk2, peers
from vebus import catalogue as cat
from vebus import describe as names
from vebus.describe import describe


def payloads():
    """De-stuffed payloads of the raw vectors, in file order."""
    out = []

    def grab(f):
        out.append(bytes(f.payload))

    dec = Decoder(grab)
    for data, _ in vebus_vectors.load()[0]:
        dec.feed(data)
    return out


def test_sync_fields():
    p = payloads()[0]
    assert p[0] == 0x55
    assert cat.get(p, peers.SYNC_STATUS) == 0x51
    assert cat.get(p, peers.SYNC_STAMP) == 0x0218
    buf = bytearray(8)
    assert peers.build_sync(buf, 0x51, 0x0218) == 4 and bytes(buf[:4]) == p


def test_ac_info_fields_and_builder():
    p = payloads()[2]
    assert cat.get(p, peers.AC_FREQ) == 50000  # 50.000 Hz
    assert cat.get(p, peers.AC_DC_VOLTAGE) == 0x9A8  # 49.44 V x 50
    assert cat.get(p, peers.AC_PHASE) == 0
    assert cat.get(p, peers.AC_STAMP) == 0x030D
    buf = bytearray(20)
    n = peers.build_ac_info(buf, 50000, 0x9A8, 0, 0x030D)
    assert bytes(buf[:n]) == p
    n = peers.build_ac_info(buf, 49875, 2700, 2)
    assert cat.get(buf, peers.AC_FREQ) == 49875 and cat.get(buf, peers.AC_DC_VOLTAGE) == 2700
    assert n == 15 and buf[13] & 0xF0 == p[13] & 0xF0  # top bits beside the 12-bit voltage


def test_switch_builder_matches_the_captures():
    ps = payloads()
    buf = bytearray(8)
    assert bytes(buf[: cat.build_switch(buf, cat.SWITCH_ON)]) == ps[3]
    assert bytes(buf[: cat.build_switch(buf, cat.SWITCH_SLEEP)]) == ps[4]
    assert cat.get(ps[3], peers.SWITCH_STATE) == 7


def test_winmon_write_via_id_matches_the_computed_vectors():
    ps = payloads()
    buf = bytearray(16)
    assert bytes(buf[: peers.build_write_via_id(buf, 0xE6, 0x83, 300)]) == ps[6]
    assert bytes(buf[: peers.build_write_via_id(buf, 0xE6, 0x83, -300)]) == ps[7]
    n = cat.build_winmon(buf, 0xE6, 0x37, b"\x02\x83\x2c\x01")
    assert bytes(buf[:n]) == ps[6]


def test_the_bms_winmon_id_is_not_one_venus_os_uses():
    # ../shared/vebus.md, Winmon: "0xE4..0xE7 are used by Venus OS, avoid them": a GX on the
    # Remote panel port would take the BMS's replies for its own.
    assert OUR_WINMON_ID not in range(0xE4, 0xE8)


def test_winmon_reply_fields():
    p = payloads()[1]
    assert cat.get(p, peers.WINMON_ID) == 0xE6
    assert cat.get(p, peers.WINMON_CODE) == 0x87
    assert names.winmon_name(0x87) == "WriteRAMOK"
    assert names.winmon_name(0x37) == "WriteViaID"
    assert names.winmon_name(0x89) is None


def test_led_and_condition_round_trip():
    buf = bytearray(16)
    n = peers.build_led(buf, 0x09, 0x02, peers.LED_STATUS_BATTERY_LOW, 10, 500, 160, 0x03)
    assert n == cat.LED_LEN and buf[0] == cat.MSG_LED
    vals = [cat.get(buf, f[1]) for f in names.LED_FIELDS]
    assert vals == [0x09, 0x02, 2, 10, 500, 160, 0x03]
    n = peers.build_condition(buf, True, -123)
    assert n == peers.COND_LEN
    assert cat.get(buf, peers.COND_INVERT_OK) == 1
    assert cat.get(buf, peers.COND_DC_CURRENT) == -123
    peers.build_condition(buf, False, 4567)
    assert cat.get(buf, peers.COND_INVERT_OK) == 0 and cat.get(buf, peers.COND_DC_CURRENT) == 4567


def test_probe_is_the_mk2_probe_body():
    buf = bytearray(8)
    n = peers.build_probe(buf)
    assert bytes(buf[:n]) == mk2.PROBE_BMS_FRAME[1:-1]
    assert cat.probe_kind(buf, n) == cat.PROBE_BMS
    n = peers.build_probe(buf, cat.PROBE_DMC)
    assert bytes(buf[:n]) == mk2.PROBE_DMC_FRAME[1:-1]
    assert cat.probe_kind(buf, n) == cat.PROBE_DMC
    assert cat.probe_kind(b"\x21\xff\xff\xff\xff\x84", 6) == -1


def test_probe_answer_carries_the_version():
    buf = bytearray(12)
    n = cat.build_probe_answer(buf, 1146100)
    assert n == cat.ANSWER_LEN
    assert buf[0] == 0x20 and buf[5] == 0x83
    assert buf[6] | buf[7] << 8 | buf[8] << 16 | buf[9] << 24 == 1146100
    assert peers.answer_version(buf, n) == 1146100
    assert peers.answer_version(buf, n) >= cat.BMS_V2_MIN_VERSION
    # As a raw-bus frame from the BMS (INFERRED mapping) it survives the codec.
    out = bytearray(40)
    k = encode_data(out, cat.BMS_ADDR, 5, buf, n)
    got = []
    Decoder(lambda f: got.append(bytes(f.payload))).feed(out, 0, k)
    assert got == [bytes(buf[:n])]


def test_bms_status_flags():
    buf = bytearray(12)
    n = cat.build_bms_status(buf, True, True, False, False)
    assert peers.is_bms_status(buf, n) and cat.get(buf, cat.STATUS_FLAGS) == 0
    cat.build_bms_status(buf, False, True, True, False, rate=0x80, code=3)
    assert cat.get(buf, cat.STATUS_FLAGS) == cat.STATUS_HIGH_CELL | cat.STATUS_PRE_ALARM
    assert cat.get(buf, cat.STATUS_RATE) == 0x80 and cat.get(buf, cat.STATUS_CODE) == 3
    cat.build_bms_status(buf, True, False, False, True)
    assert cat.get(buf, cat.STATUS_FLAGS) == cat.STATUS_LOW_CELL | cat.STATUS_ERROR
    assert peers.answer_version(buf, n) == -1


def test_every_message_is_tagged_with_a_source():
    assert cat.BMS_ADDR == ADDR_CONTROLLER
    tags = {}
    for _msg, name, tag, source, fields in names.MESSAGES:
        assert tag in (cat.CONFIRMED, cat.INFERRED), name
        for key in source.split("(")[0].replace(",", " ").split():  # "(...)" is a remark
            assert key in names.SOURCES, (name, key)
        for fname, field, unit in fields:  # a field: offset << 4 | kind (U8 .. U32)
            assert type(fname) is str and type(unit) is str and 0 <= field & 15 <= cat.U32
        tags[name] = tag
    assert tags["sync"] == cat.CONFIRMED and tags["ac_info"] == cat.CONFIRMED
    assert tags["bms_probe"] == cat.INFERRED and tags["bms_status"] == cat.INFERRED
    assert tags["bms_probe_answer"] == cat.INFERRED


def test_describe_names_the_vectors():
    names = []
    for i, p in enumerate(payloads()):
        name, tag, fields = describe(i == 0, p, len(p))
        names.append(name)
        assert tag == cat.CONFIRMED
    assert names == ["sync", "winmon", "ac_info", "switch", "switch", "winmon", "winmon", "winmon"]
    buf = bytearray(12)
    n = cat.build_probe_answer(buf, 1146112)
    want = ("bms_probe_answer", cat.INFERRED, [("version", 1146112)])
    assert describe(False, buf, n) == want
    assert describe(False, b"\x70\x01", 2)[0] == "unknown"
    assert describe(False, b"\x20\x01\x02\x03\x04\x05\x06", 7) == ("info", None, [])
    n = cat.build_bms_status(buf, True, False, False, False)
    assert describe(False, buf, n)[:2] == ("bms_status", cat.INFERRED)


def test_describe_names_the_multis_info_frames():
    # MK2 protocol document, "DC info frame" / "AC info frame" (what 'F 0' / 'F 1' return):
    # [1] backfeed factor, [2] inverter factor, [4] state, [5] phase info or 0x0C for DC, then
    # voltages and currents little endian (DC currents 24 bits), the period last.
    dc = b"\x20\x00\x00\x00\x09\x0c\x5a\x0a\x00\x00\x00\x7b\x00\x00\x9a"
    name, tag, fields = describe(False, dc, len(dc))
    assert (name, tag) == ("info_dc", cat.CONFIRMED)
    f = dict(fields)
    assert f["dc_voltage"] == 2650 and f["dc_current_charger"] == 123  # 26.50 V, 12.3 A
    assert f["dc_current_inverter"] == 0 and f["inverter_period"] == 0x9A
    ac = b"\x20\x01\x02\x00\x09\x08\x5a\x5a\xff\xff\x5a\x5a\x10\x00\x9c"
    name, tag, fields = describe(False, ac, len(ac))
    f = dict(fields)
    assert (name, tag) == ("info_ac", cat.CONFIRMED)
    assert f["state_name"] == "charge" and f["phase_name"] == "L1, 1 phase"
    assert f["backfeed_factor"] == 1 and f["inverter_factor"] == 2
    assert f["mains_voltage"] == 0x5A5A and f["mains_current"] == -1
    assert f["inverter_current"] == 16 and f["mains_period"] == 0x9C
    # The BMS's own 0x20 frames and short ones are not taken for the Multi's.
    assert describe(False, dc, 14)[0] == "info"


def test_switch_register_reading_is_inferred_and_round_trips():
    # INFERRED (docs/protocol.md): bit 4 charger, bit 5 inverter switched in; both clear = off.
    assert cat.switch_state(0x30) == cat.SWITCH_ON
    assert cat.switch_state(0x10) == cat.SWITCH_CHARGER_ONLY
    assert cat.switch_state(0x20) == cat.SWITCH_INVERTER_ONLY
    assert cat.switch_state(0x00) == cat.SWITCH_SLEEP
    for state in (
        cat.SWITCH_ON,
        cat.SWITCH_CHARGER_ONLY,
        cat.SWITCH_INVERTER_ONLY,
        cat.SWITCH_SLEEP,
    ):
        assert cat.switch_state(peers.switch_register(state)) == state
