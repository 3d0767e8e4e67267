"""A tiny run of tools/fuzz.py (the million-input run is `make fuzz`), and its checks biting on
decoders with a planted defect."""

import pytest

import vebus
from tools import fuzz
from vebus import mk2


def test_small_run_is_repeatable_and_reaches_every_reject_reason():
    a = fuzz.fuzz_vebus(7, 3000)
    b = fuzz.fuzz_vebus(7, 3000)
    assert a == b
    assert a["inputs"] == 3000
    assert a["frames"] > 1000
    for reason in ("checksum", "overlong", "truncated", "garbage", "short"):
        assert a["counts"][reason] > 0, reason
    assert fuzz.fuzz_vebus(8, 3000) != a  # the seed matters


class _Leaky(vebus.Decoder):
    def __init__(self, on_frame):
        super().__init__(on_frame)
        self.kept = []

    def feed(self, data, start=0, end=-1):
        self.kept.append(bytes(data))  # a decoder that keeps what it was fed
        super().feed(data, start, end)


class _Crashy(vebus.Decoder):
    def feed(self, data, start=0, end=-1):
        end = len(data) if end < 0 else end
        if b"\xfa\xfa" in bytes(data[start:end]):
            raise IndexError("planted")
        super().feed(data, start, end)


class _Sticky(vebus.Decoder):
    """Stops delivering frames after its first reject: no resynchronisation."""

    def __init__(self, on_frame):
        super().__init__(lambda f: None if self.rejects() else on_frame(f))


class _Unchecked(vebus.Decoder):
    """Hands out a frame whose checksum byte it does not check."""

    def __init__(self, on_frame):
        def deliver(f):
            on_frame(f)
            raw = bytearray(f.raw)
            raw[-2] ^= 0x01
            f.raw = memoryview(raw)
            on_frame(f)

        super().__init__(deliver)


@pytest.mark.parametrize(
    "cls, message",
    [
        (_Leaky, "memory grows"),
        (_Crashy, "IndexError: planted"),
        (_Sticky, "no resync"),
        (_Unchecked, "fails the checksum"),
    ],
)
def test_each_check_catches_a_planted_defect(cls, message):
    with pytest.raises(fuzz.FuzzFailure, match=message):
        fuzz.fuzz_vebus(3, 4000, decoder=cls)


def test_mk2_small_run_is_repeatable():
    a = fuzz.fuzz_mk2(7, 1500)
    assert a == fuzz.fuzz_mk2(7, 1500)
    assert a["frames"] > 1500
    assert a["counts"]["checksum"] > 0 and a["counts"]["garbage"] > 0


class _Mk2NoChecksum(mk2.Mk2Decoder):
    """Takes any frame whose length fits, checksum or not."""

    def __init__(self, on_frame):
        super().__init__(on_frame)
        self._real = mk2.sum_ok

    def feed(self, data, start=0, end=-1):
        mk2.sum_ok = lambda buf, n: True
        try:
            super().feed(data, start, end)
        finally:
            mk2.sum_ok = self._real


def test_mk2_check_catches_a_decoder_without_checksum():
    with pytest.raises(fuzz.FuzzFailure, match="does not sum to 0"):
        fuzz.fuzz_mk2(3, 2000, decoder=_Mk2NoChecksum)


def test_cli_refuses_a_zero_count(capsys):
    assert fuzz.main(["--count", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err


def test_ctrl_c_gives_a_summary_not_a_traceback():
    """Ctrl-C at a terminal reaches the whole process group: the pool's workers too."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    p = subprocess.Popen(
        [sys.executable, "-m", "tools.fuzz", "--count", "10000000", "--jobs", "2", "-q"],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert p.stdout is not None
    first = p.stdout.readline()  # the estimate, printed before the run starts
    time.sleep(3)
    os.killpg(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert first.startswith("fuzz: 10000000 inputs per decoder on 2 jobs: about ")
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    lines = out.splitlines()
    assert lines[0].startswith("fuzz vebus: stopped at ") and "no check failed" in lines[0]
    assert lines[-1].startswith("fuzz: interrupted after ")
    assert p.returncode == 130
