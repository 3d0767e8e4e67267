"""Hypothesis fuzzing of lib/vebus's stream decoders (quick: a few hundred examples each;
the long runs are `make fuzz`)."""

import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vebus
from vebus import mk2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import vebus_vectors  # noqa: E402

RAW = [d for d, _ in vebus_vectors.load()[0]]
MAXLEN = 48
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALPHABET = [0x83, 0x98, 0xF7, 0xFD, 0xFE, 0xFA, 0xFF, 0x00, 0xFB, 0x55, 0x7A, 0x7F, 0x01]


class Checked:
    """A decoder whose every output is checked as it comes out."""

    def __init__(self):
        self.frames = []
        self.rejects = 0
        self.out = bytearray(vebus.max_encoded_len(MAXLEN))
        self.dec = vebus.Decoder(self.on_frame, self.on_reject, maxlen=MAXLEN)

    def on_frame(self, f):
        raw = bytes(f.raw)
        assert raw[-1] == 0xFF and vebus.frame_sum_ok(raw, len(raw))
        n = vebus.encode(self.out, f.addr, f.t, f.frame_no, f.payload)
        assert bytes(self.out[:n]) == raw  # only canonical frames come out
        assert len(f.payload) >= 1 and f.msg == f.payload[0]
        self.frames.append(raw)

    def on_reject(self, reason, raw):
        assert 1 <= reason < len(vebus.REASONS) and len(raw) <= MAXLEN
        self.rejects += 1

    def feed_split(self, data, cuts):
        i = 0
        for c in sorted(set(cuts)) + [len(data)]:
            c = min(c, len(data))
            if c > i:
                self.dec.feed(data, i, c)
                assert self.dec.pending() < MAXLEN  # memory bounded
                i = c
        return self


noise = st.binary(max_size=300) | st.lists(st.sampled_from(ALPHABET), max_size=300).map(bytes)
cuts = st.lists(st.integers(0, 2000), max_size=20)


@FAST
@given(noise, cuts)
def test_random_input_never_raises_and_stays_bounded(data, splits):
    c = Checked().feed_split(data, splits)
    c.dec.flush()
    assert c.dec.pending() == 0


def _mutate(data, ops):
    b = bytearray(data)
    for kind, pos, val in ops:
        if not b:
            break
        pos %= len(b)
        if kind == 0:
            b[pos] ^= 1 << (val % 8)
        elif kind == 1:
            b[pos] = val
        elif kind == 2:
            b.insert(pos, val)
        else:
            del b[pos]
    return bytes(b)


ops = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.integers(0, 255)))


@FAST
@given(st.lists(st.sampled_from(RAW), min_size=1, max_size=12), ops, cuts)
def test_mutated_streams_only_yield_valid_frames(frames, mutations, splits):
    data = _mutate(b"".join(frames), mutations)
    c = Checked().feed_split(data, splits)
    if not mutations:
        assert c.frames == frames and c.rejects == 0


# Garbage without an address byte (83, 98) or 00 cannot hold a frame start: any frame that
# follows it must come out, whatever the garbage and the split points.
garbage = st.lists(
    st.integers(0, 255).filter(lambda b: b not in (0x83, 0x98, 0x00)), max_size=200
).map(bytes)


@FAST
@given(garbage, st.sampled_from(RAW), garbage, st.sampled_from(RAW), cuts)
def test_frames_embedded_in_garbage_are_found(g1, f1, g2, f2, splits):
    c = Checked().feed_split(g1 + f1 + g2 + f2, splits)
    assert c.frames == [f1, f2]


@FAST
@given(st.lists(st.sampled_from(RAW), min_size=1, max_size=30), cuts)
def test_random_splits_of_a_recording(frames, splits):
    data = b"".join(frames)
    assert Checked().feed_split(data, splits).frames == frames


@FAST
@given(st.binary(max_size=300), cuts)
def test_mk2_decoder_never_raises_and_stays_bounded(data, splits):
    got = []
    dec = mk2.Mk2Decoder(lambda f: got.append(bytes(f.raw)))
    i = 0
    for cut in sorted(set(splits)) + [len(data)]:
        cut = min(cut, len(data))
        if cut > i:
            dec.feed(data, i, cut)
            assert dec.pending() < mk2.MAX_FRAME
            i = cut
    for raw in got:
        assert mk2.sum_ok(raw, len(raw)) or mk2.probe_kind(raw, len(raw)) >= 0
        assert raw[0] + 2 == len(raw)
