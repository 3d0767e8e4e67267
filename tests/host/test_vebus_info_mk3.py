"""The raw-bus decoder and the MK3 client read the Multi's 0x20 info frames alike.

Two readings of the MK2 protocol document, written apart: lib/vebus/describe.py (raw bus, raw
values) and tools/mk3/protocol.py (MK3 replies, scaled with the default RAM variable scales).
"""

from hypothesis import given
from hypothesis import strategies as st

from tools.mk3 import protocol
from vebus.describe import DEVICE_STATES, describe

kinds = st.sampled_from([0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C])


@given(st.binary(min_size=15, max_size=15), kinds, st.integers(0, len(DEVICE_STATES) - 1))
def test_describe_agrees_with_the_mk3_reader(body, kind, state):
    p = bytearray(body)
    p[0], p[4], p[5] = 0x20, state, kind
    name, _, fields = describe(False, p, len(p))
    f = dict(fields)
    mk3 = protocol.parse_info(p)
    assert mk3 is not None
    if kind == 0x0C:
        assert name == "info_dc"
        assert round(f["dc_voltage"] * 0.01, 2) == mk3["dc_voltage"]
        assert round(f["dc_current_charger"] * 0.1, 1) == round(mk3["dc_current_charger"], 1)
    else:
        assert name == "info_ac"
        assert f["state_name"] == mk3["device_state"] and f["phase"] == mk3["ac_phase_info"]
