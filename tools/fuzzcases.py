"""Input generators and checked runs behind tools/fuzz.py (see its docstring for what is
checked): fuzz_vebus and fuzz_mk2 run N inputs through one long-lived decoder each."""

import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _p in (ROOT / "lib", ROOT / "tests"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from tools import hostcompat  # noqa: E402

hostcompat.install()

import vebus_vectors  # noqa: E402

import vebus  # noqa: E402

# Bytes that matter to the framing: addresses, types, escape, end, sync mark, short-frame bytes.
VEBUS_ALPHABET = bytes([0x83, 0x98, 0xF7, 0xFD, 0xFE, 0xFA, 0xFF, 0x00, 0xFB, 0x55, 0x7A, 0x7F])
MK2_ALPHABET = bytes([0xFF, 0x02, 0x04, 0x07, 0x20, 0x41, 0x56, 0x57, 0x80, 0x86, 0x00, 0x21])
BLOCK_GROWTH_LIMIT = 2000  # allocated blocks a shard may gain after warm-up (noise of the VM)
PROGRESS_STEPS = 10


class FuzzFailure(Exception):
    pass


# ---- input generators ----------------------------------------------------------------------


def _random_bytes(rng, alphabet=None, hi=160):
    n = rng.randrange(0, hi)
    if alphabet is None or rng.random() < 0.3:
        return bytes(rng.getrandbits(8) for _ in range(n))
    return bytes(
        rng.choice(alphabet) if rng.random() < 0.7 else rng.getrandbits(8) for _ in range(n)
    )


def _mutate(rng, data, alphabet):
    b = bytearray(data)
    for _ in range(rng.randrange(1, 5)):
        op = rng.randrange(8)
        if not b:
            b.append(rng.getrandbits(8))
            continue
        i = rng.randrange(len(b))
        if op == 0:  # bit flip
            b[i] ^= 1 << rng.randrange(8)
        elif op == 1:  # byte change
            b[i] = rng.getrandbits(8)
        elif op == 2:  # structural byte
            b[i] = rng.choice(alphabet)
        elif op == 3:  # insertion
            b.insert(i, rng.choice(alphabet) if rng.random() < 0.5 else rng.getrandbits(8))
        elif op == 4:  # deletion
            del b[i]
        elif op == 5:  # truncation
            del b[i:]
        elif op == 6:  # duplicate a range
            j = rng.randrange(i, len(b) + 1)
            b[j:j] = b[i:j]
        else:  # off-by-one checksum
            b[-1 if len(b) < 2 else -2] = (
                b[-1 if len(b) < 2 else -2] + rng.choice((1, 255))
            ) & 0xFF
    return bytes(b)


def _pick_case(rng, corpus, alphabet, overlong):
    kind = rng.randrange(10)
    if kind == 0:
        return _random_bytes(rng)
    if kind == 1:
        return _random_bytes(rng, alphabet)
    if kind in (2, 3, 4):
        return _mutate(rng, rng.choice(corpus), alphabet)
    if kind == 5:  # splice two frames
        a, b = rng.choice(corpus), rng.choice(corpus)
        return a[: rng.randrange(len(a) + 1)] + b[rng.randrange(len(b) + 1) :]
    if kind == 6:  # a train of valid frames with noise between some
        out = bytearray()
        for _ in range(rng.randrange(1, 6)):
            out += rng.choice(corpus)
            if rng.random() < 0.3:
                out += _random_bytes(rng, alphabet, 8)
        return bytes(out)
    if kind == 7:
        return overlong(rng)
    if kind == 8:  # a valid frame untouched (the decoder must still take it after the garbage)
        return rng.choice(corpus)
    return _mutate(rng, _mutate(rng, rng.choice(corpus), alphabet), alphabet)


def _feed_chunked(rng, feed, data):
    i, n = 0, len(data)
    while i < n:
        k = rng.choice((1, 1, 2, 3, 7, 16, 64, n))
        feed(data, i, min(n, i + k))
        i += k


# ---- VE.Bus ----------------------------------------------------------------------------------


def _vebus_corpus(rng):
    raw, _ = vebus_vectors.load()
    corpus = [v for v, _ in raw]
    for x in (0, 0x12, 0x3F, 0x7F):  # the short frames a booting Multi sends
        corpus.append(bytes((0x00, 0xFB, x, 0x7F - x, 0xFF)))
    buf = bytearray(vebus.max_encoded_len(40))
    for _ in range(300):
        plen = rng.randrange(1, 30)
        payload = bytes(
            rng.choice((0xFA, 0xFB, 0xFE, 0xFF, rng.getrandbits(8))) for _ in range(plen)
        )
        if rng.random() < 0.2:
            payload = bytes([0x55]) + payload[1:]
            n = vebus.encode_sync(buf, rng.randrange(128), payload)
        else:
            addr = rng.choice((vebus.ADDR_MULTI, vebus.ADDR_CONTROLLER))
            n = vebus.encode_data(buf, addr, rng.randrange(128), payload)
        corpus.append(bytes(buf[:n]))
    return corpus


def _vebus_overlong(rng):
    head = rng.choice((b"\x83\x83\xfe", b"\x98\xf7\xfe", b"\x83\x83\xfd"))
    body = bytes(rng.randrange(0, 0xFA) for _ in range(rng.randrange(60, 300)))
    return head + bytes([rng.randrange(128)]) + body + b"\xff"


def fuzz_vebus(seed, count, progress=None, decoder=None):
    """Fuzz one VE.Bus decoder (default: a fresh vebus.Decoder) with `count` inputs."""
    rng = random.Random("vebus:%d" % seed)
    corpus = _vebus_corpus(rng)
    reenc = bytearray(vebus.max_encoded_len(vebus.MAXLEN))
    state = {"last": b"", "frames": 0, "bytes": 0, "raw_cs": 0}

    def on_frame(f):
        raw = bytes(f.raw)
        if raw[-1] != 0xFF or not vebus.frame_sum_ok(raw, len(raw)):
            raise FuzzFailure("decoder handed out a frame that fails the checksum: " + raw.hex())
        n = vebus.encode(reenc, f.addr, f.t, f.frame_no, f.payload)
        again = bytes(reenc[:n])
        if again != raw:
            # The one leniency seen: a checksum of FB..FE received raw instead of escaped.
            if 0xFB <= raw[-2] <= 0xFE and again == raw[:-2] + bytes((0xFA, raw[-2] - 0xFA, 0xFF)):
                state["raw_cs"] += 1
            else:
                raise FuzzFailure("frame does not re-encode to the bytes received: " + raw.hex())
        state["last"] = raw
        state["frames"] += 1

    dec = (decoder or vebus.Decoder)(on_frame)
    probe_a, probe_b = corpus[0], corpus[3]  # a sync frame and a switch command (real vectors)
    cap = vebus.MAXLEN

    def check(case):
        state["last"] = b""
        dec.feed(probe_a + probe_b)
        if state["last"] != probe_b:
            raise FuzzFailure("no resync after input %s" % case.hex())
        if dec.pending() > cap:
            raise FuzzFailure("decoder holds %d bytes > %d" % (dec.pending(), cap))

    _run(rng, count, corpus, VEBUS_ALPHABET, _vebus_overlong, dec.feed, check, state, progress)
    return {
        "inputs": count,
        "bytes": state["bytes"],
        "frames": state["frames"],
        "raw_cs": state["raw_cs"],
        "counts": {vebus.REASONS[i]: c for i, c in enumerate(dec.counts)},
    }


# ---- MK2 -------------------------------------------------------------------------------------


def _mk2_corpus(rng, mk2):
    _, mk2_vectors = vebus_vectors.load()
    corpus = [v for v, _ in mk2_vectors]
    corpus += [bytes(mk2.PROBE_BMS_FRAME), bytes(mk2.PROBE_DMC_FRAME)]
    buf = bytearray(MK2_MAXLEN)
    for _ in range(300):
        data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 16)))
        if rng.random() < 0.3:  # a VE.Bus data frame through the interface (0x20 info, 0x41 LED)
            n = mk2.encode_vebus(buf, bytes((rng.choice((0x20, 0x41, 0x40)),)) + data)
        else:
            n = mk2.encode(buf, rng.choice(b"AVHLFSWXYZ"), data)
        corpus.append(bytes(buf[:n]))
    return corpus


def _mk2_overlong(rng):
    return bytes([rng.choice((0x3F, 0x7F, 0xFF, 0xFE)), 0xFF]) + bytes(
        rng.getrandbits(8) for _ in range(rng.randrange(40, 300))
    )


MK2_MAXLEN = 64  # vebus.mk2.MAX_FRAME, the default buffer
MK2_TRAIN = 10  # frames fed after each input; the last one must come out


def fuzz_mk2(seed, count, progress=None, decoder=None):
    """Fuzz one MK2 decoder (default: a fresh vebus.mk2.Mk2Decoder) with `count` inputs."""
    from vebus import mk2

    rng = random.Random("mk2:%d" % seed)
    corpus = _mk2_corpus(rng, mk2)
    state = {"last": b"", "frames": 0, "bytes": 0}

    def on_frame(f):
        raw = bytes(f.raw)
        if raw[0] != len(raw) - 2:
            raise FuzzFailure("MK2 frame length byte does not match: " + raw.hex())
        if sum(raw) & 0xFF and f.probe < 0:
            raise FuzzFailure(
                "MK2 decoder handed out a frame that does not sum to 0: " + raw.hex()
            )
        state["last"] = raw
        if state["seen"] is not None:
            state["seen"].append(raw)
        state["frames"] += 1

    make = decoder or mk2.Mk2Decoder
    dec = make(on_frame)
    # MK2 has no end byte: a garbage length byte can start a "frame" that swallows what follows
    # until its checksum fails, and by chance (1 in 256) it passes. Real clients drop a partial
    # frame after a silence (tools/mk3 does). So: after each input, a train of distinct real
    # frames longer than the decoder's buffer; if its last frame did not come out, that is
    # counted, a silence is simulated (reset()) and the train must then come out whole.
    # (A periodic train would let the tail of one copy plus the head of the next sum to 0.)
    train = [bytes(c) for c in corpus[5 : 5 + MK2_TRAIN]]
    train_bytes = b"".join(train)
    assert len(train_bytes) > MK2_MAXLEN and len(set(train)) == MK2_TRAIN
    state["seen"] = None
    state["swallowed"] = 0

    def check(case):
        if dec.pending() > MK2_MAXLEN:
            raise FuzzFailure("MK2 decoder holds %d bytes" % dec.pending())
        state["last"] = b""
        dec.feed(train_bytes)
        if state["last"] == train[-1]:
            return
        state["swallowed"] += 1
        dec.reset()
        state["seen"] = seen = []
        dec.feed(train_bytes)
        state["seen"] = None
        if seen != train:
            raise FuzzFailure(
                "MK2: after reset() the train does not decode, input %s" % case.hex()
            )

    _run(rng, count, corpus, MK2_ALPHABET, _mk2_overlong, dec.feed, check, state, progress)
    if state["swallowed"] > count // 100:
        raise FuzzFailure(
            "MK2: %d of %d trains lost their last frame (more than 1 %%)"
            % (state["swallowed"], count)
        )
    counts = dec.counts
    return {
        "inputs": count,
        "bytes": state["bytes"],
        "frames": state["frames"],
        "swallowed": state["swallowed"],
        "counts": {mk2.REASONS[i]: c for i, c in enumerate(counts)},
    }


# ---- driver ----------------------------------------------------------------------------------


def _run(rng, count, corpus, alphabet, overlong, feed, check, state, progress):
    step = max(1, count // PROGRESS_STEPS)
    warm_blocks = None
    for i in range(count):
        case = _pick_case(rng, corpus, alphabet, overlong)
        state["bytes"] += len(case)
        try:
            _feed_chunked(rng, feed, case)
            check(case)
        except FuzzFailure:
            raise
        except Exception as e:
            raise FuzzFailure(
                "%s: %s on input %d: %s" % (type(e).__name__, e, i, case.hex())
            ) from e
        if (i + 1) % step == 0:
            blocks = sys.getallocatedblocks()
            if warm_blocks is None:
                warm_blocks = blocks
            elif blocks - warm_blocks > BLOCK_GROWTH_LIMIT:
                raise FuzzFailure(
                    "memory grows: %d allocated blocks after warm-up, %d now"
                    % (warm_blocks, blocks)
                )
            if progress:
                progress(i + 1, state)


def _have_mk2():
    try:
        from vebus import mk2  # noqa: F401
    except ImportError:
        return False
    return True
