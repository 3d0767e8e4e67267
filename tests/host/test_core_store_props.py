"""Property tests (host only) of the flash event records and the settings table."""

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.core import eventfile as ef
from firmware.core import eventread as er
from firmware.core import settings as cfg

record = st.tuples(
    st.integers(1, 255),  # code
    st.integers(0, 0xFFFF),  # reason bits
    st.integers(-(2**31), 2**31 - 1),  # arg
    st.integers(0, 2**32 - 1),  # tick
    st.integers(0, 0xFFFF),  # boot
)


def _encode(recs):
    buf = bytearray(ef.RECORD_SIZE)
    out = bytearray()
    for code, reason, arg, tick, boot in recs:
        ef.encode(buf, code, reason, arg, tick, boot)
        out += buf
    return bytes(out)


@settings(max_examples=200, deadline=None)
@given(recs=st.lists(record, max_size=20), data=st.data())
def test_damage_loses_only_the_records_it_touches(recs, data):
    blob = bytearray(_encode(recs))
    assert er.decode_all(bytes(blob)) == recs
    if not blob:
        return
    # damage one span of bytes (a torn write or a bad flash cell), or cut the file short
    start = data.draw(st.integers(0, len(blob) - 1))
    end = data.draw(st.integers(start + 1, min(len(blob), start + 24)))
    cut = data.draw(st.booleans())
    if cut:
        damaged = bytes(blob[:start])
    else:
        for i in range(start, end):
            blob[i] ^= data.draw(st.integers(1, 255))
        damaged = bytes(blob)
    got = er.decode_all(damaged)
    size = ef.RECORD_SIZE
    if cut:
        intact = recs[: start // size]
    else:
        intact = [r for k, r in enumerate(recs) if (k + 1) * size <= start or k * size >= end]
    for r in intact:  # every untouched record is still read, in order
        assert r in got
    assert [r for r in got if r in intact] == intact
    assert len(got) <= len(recs)


values = st.one_of(
    st.integers(-(10**7), 10**7),
    st.booleans(),
    st.text(max_size=8),
    st.none(),
    st.floats(allow_nan=False),
    st.sampled_from(("pico", "esp32", "bms", "listen", "any", "bridge")),
)
keys = st.one_of(st.sampled_from(cfg.KEYS), st.text(max_size=12))


@settings(max_examples=300, deadline=None)
@given(d=st.dictionaries(keys, values, max_size=8))
def test_any_settings_dict_leaves_every_value_valid(d):
    s = cfg.Settings()
    errors = s.update(d)
    for key in cfg.KEYS:
        cfg.check_value(key, getattr(s, key))  # never an invalid value, whatever came in
    assert len(errors) <= len(d)
    for key, value in d.items():
        if key not in cfg.KEYS:
            assert key + ": unknown setting" in errors
        elif not any(e.startswith(key + ": ") for e in errors):
            assert getattr(s, key) == value and type(getattr(s, key)) is type(value)
    assert cfg.Settings().update(json.loads(json.dumps(s.as_dict()))) == []
