"""tools.mk3 against a fake MK3 serial port and the MK2 lines of the shared test vectors."""

import io
import subprocess
import sys
from pathlib import Path

import pytest

from tools.mk3 import protocol
from tools.mk3.__main__ import main, monitor
from tools.mk3.client import Mk3, Mk3Error
from tools.mk3.fake import DemoMultiPort, FakeClock, FakeMultiPort

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
import vebus_vectors  # noqa: E402


def _mk2_vector(note_part):
    _, mk2 = vebus_vectors.load()
    found = [data for data, note in mk2 if note_part in note]
    assert len(found) == 1, note_part
    return found[0]


class _Wire:
    """A port that records what the client writes and answers with fixed bytes."""

    def __init__(self, clock, answer=b""):
        self.clock = clock
        self.written = bytearray()
        self.answer = bytearray(answer)

    def write(self, data):
        self.written += data

    def read(self, n=1):
        if not self.answer:
            self.clock.sleep(0.05)
            return b""
        out = bytes(self.answer[:n])
        del self.answer[:n]
        return out


def _run(port, clock, *argv):
    out, err = io.StringIO(), io.StringIO()
    old = sys.stderr
    sys.stderr = err
    try:
        rc = main(
            ["--port", "fake", *argv],
            opener=lambda dev: port,
            out=out,
            clock=clock,
            sleep=clock.sleep,
        )
    finally:
        sys.stderr = old
    return rc, out.getvalue(), err.getvalue()


def test_requests_are_the_vector_bytes_and_the_version_frame_parses():
    clock = FakeClock()
    wire = _Wire(clock, _mk2_vector("version frame"))
    mk3 = Mk3(wire, clock=clock)
    got = mk3.version()
    assert bytes(wire.written) == _mk2_vector("'V' request")
    assert got["interface_version"] == 0x0011DB28 == 1170216
    assert got["interface_mode"] == 0x42
    wire.written.clear()
    wire.answer += _mk2_vector("'A' select address 0")
    assert mk3.select(0) == {"address": 0}
    assert bytes(wire.written) == _mk2_vector("'A' select address 0")


def test_info_prints_the_multis_view():
    clock = FakeClock()
    port = FakeMultiPort(clock)
    rc, out, err = _run(port, clock)
    assert rc == 0, err
    lines = dict(line.split("  ", 1) for line in out.splitlines())
    lines = {k.strip(): v.strip() for k, v in lines.items()}
    assert lines["interface version"] == "1170216"
    assert lines["switch (resolved)"] == "on"
    assert lines["device state"] == "charge"
    assert lines["DC voltage (V)"] == "26.6"
    assert lines["DC current from charger (A)"] == "12.5"
    assert lines["LEDs on"] == "mains"
    assert port.closed
    assert [c for c, _ in port.requests][:2] == ["V", "A"]


def test_signed_scale_from_the_multi_gives_a_negative_current():
    clock = FakeClock()
    port = FakeMultiPort(clock)
    port.i_inverter_raw = -35  # 3.5 A flowing the other way
    port.scale_words[4] = (0x7FF6, 0)  # UBat at 1/10 V this time
    port.ubat_raw = 266
    mk3 = Mk3(port, clock=clock)
    mk3.load_scales()
    dc = mk3.dc_info()
    assert dc["dc_current_inverter"] == -3.5
    assert dc["dc_voltage"] == 26.6


def test_a_lost_request_is_resent_and_noise_is_skipped():
    clock = FakeClock()
    port = FakeMultiPort(clock)
    port.unanswered = 1
    port.noise = b"\x00\x01\x02\xff\x56\x00"  # garbage and a frame with a bad checksum
    mk3 = Mk3(port, clock=clock)
    assert mk3.leds() == {"leds_on": ["mains"], "leds_blink": []}
    assert [c for c, _ in port.requests] == ["L", "L"]
    assert clock.t >= Mk3.TIMEOUT_S


def test_noise_that_swallows_the_reply_costs_one_retry():
    # MK2 has no end byte: a stray length byte of 0x13 waits for 21 bytes and eats the reply.
    # The client drops its partial frame after the timeout's silence and asks again.
    clock = FakeClock()
    port = FakeMultiPort(clock)
    port.noise = b"\x13\x37"
    mk3 = Mk3(port, clock=clock)
    assert mk3.version()["interface_version"] == 1170216
    assert [c for c, _ in port.requests] == ["V", "V"]


def test_monitor_prints_only_changes_and_survives_silence():
    clock = FakeClock()
    port = FakeMultiPort(clock)
    mk3 = Mk3(port, clock=clock)
    script = iter(
        [
            lambda: setattr(port, "switch_register", 0x10),  # loop opened: charger-only
            lambda: setattr(port, "unanswered", 100),  # the Multi stops answering
            lambda: setattr(port, "unanswered", 0),
            lambda: None,
        ]
    )

    def sleep(s):
        clock.sleep(s)
        next(script)()

    out = io.StringIO()
    assert monitor(mk3, out, interval=1.0, cycles=4, sleep=sleep, clock=clock) == 4
    text = out.getvalue()
    assert "switch (resolved): on\n" in text
    assert "switch (resolved): on -> charger-only" in text
    assert "switch register: charge, invert -> charge" in text
    assert "no answer: no answer to" in text
    assert "the interface answers again" in text
    assert text.count("DC voltage") == 1  # unchanged values are printed once


def test_ram_reads_pairs_and_reports_unsupported_ids():
    clock = FakeClock()
    port = FakeMultiPort(clock)
    rc, out, _ = _run(port, clock, "ram", "4", "5", "200")
    assert rc == 0
    assert out.splitlines() == ["RAM   4: 2660", "RAM   5: 125", "RAM 200: not supported"]
    assert ("X", b"\x30\x04\x05") in port.requests


def test_no_answer_is_one_line_and_exit_1():
    clock = FakeClock()
    port = FakeMultiPort(clock)
    port.unanswered = 10
    rc, out, err = _run(port, clock)
    assert rc == 1
    assert err.count("\n") == 1
    assert err.startswith("mk3: no answer to the version request ('V')")


def test_no_such_port_is_one_line_and_exit_2(capsys):
    rc = main(["--port", "/dev/no-such-mk3-port"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("mk3: cannot open /dev/no-such-mk3-port:")
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [["ram"], ["--address", "300"], ["info", "4"], ["ram", "999"], ["bogus"]],
)
def test_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(["--port", "fake", *argv], opener=lambda dev: pytest.fail("opened"))
    assert e.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_module_entry_point_help():
    proc = subprocess.run(
        [sys.executable, "-m", "tools.mk3", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert "MK3-USB" in proc.stdout and "monitor" in proc.stdout
    assert protocol.switch_mode(0x10) == "charger-only"


def test_mk3_error_names_the_request():
    clock = FakeClock()
    port = FakeMultiPort(clock)
    port.unanswered = 3
    with pytest.raises(Mk3Error, match="DC info"):
        Mk3(port, clock=clock).dc_info()


def test_port_takes_a_pyserial_url():
    """A network MK3 bridge (socket://): pyserial's URL handler, a simulated Multi behind it."""
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    multi = FakeMultiPort(FakeClock())

    def serve():
        conn, _ = srv.accept()
        with conn:
            while data := conn.recv(256):
                multi.write(data)
                conn.sendall(multi.read(1024))

    threading.Thread(target=serve, daemon=True).start()
    try:
        p = subprocess.run(
            [
                sys.executable,
                "-m",
                "tools.mk3",
                "--port",
                "socket://127.0.0.1:%d" % srv.getsockname()[1],
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        srv.close()
    assert p.returncode == 0, p.stderr
    assert "interface version                1170216" in p.stdout
    assert [c for c, _ in multi.requests][:2] == ["V", "A"]


def test_demo_runs_without_hardware():
    p = subprocess.run(
        [sys.executable, "-m", "tools.mk3", "--demo"], cwd=ROOT, capture_output=True, text=True
    )
    assert p.returncode == 0, p.stderr
    assert "switch (resolved)                on" in p.stdout
    assert "DC voltage (V)                   26.6" in p.stdout


def test_demo_multi_goes_charger_only_while_its_loop_is_open():
    clock = FakeClock()
    out = io.StringIO()
    mk3 = Mk3(DemoMultiPort(clock), clock=clock)
    monitor(mk3, out, interval=1.0, cycles=25, sleep=clock.sleep, clock=clock)
    changes = [ln for ln in out.getvalue().splitlines() if "switch (resolved)" in ln]
    assert [ln.split("] ")[1] for ln in changes] == [
        "switch (resolved): on",
        "switch (resolved): on -> charger-only",
        "switch (resolved): charger-only -> on",
    ]
