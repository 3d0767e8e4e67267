"""`python -m tools.vebus`: decode and sniff, on the vectors file, captures and bad input."""

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import vebus
from tools.vebus import cli, sniff
from tools.vebus.inputs import MAGIC, InputError, parse_hex_line

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
import vebus_vectors  # noqa: E402

VECTORS = ROOT / "tests" / "vectors.txt"


def run(argv, capsys):
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def records(out):
    return [json.loads(line) for line in out.splitlines()]


def cli_proc(args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "tools.vebus", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_every_raw_vector_line_decodes_and_re_encodes(tmp_path, capsys):
    raw, _ = vebus_vectors.load()
    out = bytearray(64)
    for data, note in raw:
        f = tmp_path / "one.txt"
        f.write_text(data.hex(" ") + " | " + note + "\n")
        rc, stdout, err = run(["decode", "--json", str(f)], capsys)
        assert rc == 0 and err == ""
        (rec,) = records(stdout)
        assert rec["ok"] and rec["error"] is None, (note, rec)
        assert rec["kind"] in ("sync", "data") and rec["frame_no"] == data[3]
        assert rec["raw"] == data.hex()
        addr = vebus.ADDR_MULTI if rec["src"] == "Multi" else vebus.ADDR_CONTROLLER
        t = vebus.T_SYNC if rec["kind"] == "sync" else vebus.T_DATA
        n = vebus.encode(out, addr, t, rec["frame_no"], bytes.fromhex(rec["payload"]))
        assert bytes(out[:n]) == data, note
        if rec["kind"] == "data":
            assert rec["type"] == bytes.fromhex(rec["payload"])[0]


def test_every_mk2_vector_line_decodes_with_mk2(tmp_path, capsys):
    _, mk2 = vebus_vectors.load()
    for data, note in mk2:
        f = tmp_path / "one.txt"
        f.write_text(data.hex().upper() + "  # " + note + "\n")
        rc, stdout, _ = run(["decode", "--mk2", "--json", str(f)], capsys)
        (rec,) = records(stdout)
        assert rc == 0 and rec["ok"] and rec["kind"] == "mk2", (note, rec)
        assert rec["type"] == data[2] and rec["payload"] == data[1:-1].hex()


def test_whole_vectors_file_text_output(capsys):
    rc, out, _ = run(["decode", str(VECTORS)], capsys)
    lines = out.splitlines()
    assert rc == 0
    ok = [ln for ln in lines if "checksum ok  | " in ln]
    assert len(ok) == 8
    assert ok[0].startswith("Multi      N=02 sync")
    assert ok[0].endswith("| sync frame, N=0x02 (esp32ess docs/README.md)")
    assert "name=WriteRAMOK" in ok[1] and "frequency=50000" in ok[2] and "name=on" in ok[3]
    assert all(ln.startswith("REJECT") for ln in lines if ln not in ok)  # the MK2 lines


def test_each_line_is_one_input_and_keeps_its_note(capsys):
    # tests/vectors.txt is one frame per line, "|" then a note: read here by the VM tests' own
    # loader, not by the CLI's parser.
    raw, mk2 = vebus_vectors.load()
    for args, good, bad in ((["decode"], raw, mk2), (["decode", "--mk2"], mk2, raw)):
        rc, out, _ = run([*args, "--json", str(VECTORS)], capsys)
        recs = records(out)
        assert rc == 0
        assert [(r["raw"], r["note"]) for r in recs if r["ok"]] == [(d.hex(), n) for d, n in good]
        for data, note in bad:  # a line the decoder rejects: its rejects are its own bytes
            mine = [r for r in recs if r["note"] == note]
            assert mine and not any(r["ok"] for r in mine), note
            assert "".join(r["raw"] for r in mine) == data.hex(), note


def test_the_decoder_examples_of_readme_and_docs_run_in_a_clone():
    """A clone has no ../shared: every `tools.vebus decode` example names a file of the repo."""
    import re

    seen = 0
    for doc in ("README.md", "docs/protocol.md", "docs/bench-testing.md"):
        for path in re.findall(
            r"python -m tools\.vebus decode (\S+\.txt)", (ROOT / doc).read_text()
        ):
            if path in ("mk2-log.txt",):  # the user's own log, named as an example
                continue
            p = cli_proc(["decode", path])
            assert p.returncode == 0 and p.stdout.count("checksum ok") == 8, (doc, path, p.stderr)
            seen += 1
    assert seen >= 2
    p = cli_proc(["decode", "--help"])
    assert "../shared" not in p.stdout and "tests/vectors.txt" in p.stdout


def test_nothing_a_user_reads_points_at_shared():
    """README, docs, the tools' help and the code's comments name files a clone has. The two
    tools run from ../shared (the emulated Pico, MicroPython's manifest reader) are named with
    the fallback a clone gets (PICO_FIRMWARE, a skip with one line)."""
    tool = re.compile(r"\.\./shared/(rp2emu|micropython-tools)")
    files = [ROOT / "README.md", ROOT / "Makefile", *sorted((ROOT / "docs").glob("*.md"))]
    for d in ("firmware", "lib", "tools"):
        files += sorted((ROOT / d).rglob("*.py"))
    files += [ROOT / "boot.py", ROOT / "main.py", ROOT / "tests" / "vebus_vectors.py"]
    dangling = [
        "%s: %s" % (f.relative_to(ROOT), m)
        for f in files
        for m in ("../shared", "vebus.md", "btv.md", "design.md")
        if m in tool.sub("", f.read_text())
    ]
    assert dangling == []


def test_hex_text_formats():
    assert parse_hex_line("83 83 fd 02") == b"\x83\x83\xfd\x02"
    assert parse_hex_line("8383FD02 | note # x") == b"\x83\x83\xfd\x02"
    assert parse_hex_line("0x83, 0x83,0xFD") == b"\x83\x83\xfd"
    assert parse_hex_line("# only a comment") == b""
    for bad in ("83 8", "83 zz", "hello"):
        try:
            parse_hex_line(bad, 4)
        except InputError as e:
            assert "line 4" in str(e)
        else:
            raise AssertionError(bad)


def test_stdin_and_json_fields():
    p = cli_proc(["decode", "--json"], stdin="98 f7 fe 60 3f 07 00 00 00 5d ff\n")
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout)
    assert rec["ok"] is True and rec["kind"] == "data" and rec["frame_no"] == 0x60
    assert rec["type"] == 0x3F and rec["payload"] == "3f07000000" and rec["error"] is None
    assert rec["tag"] == "confirmed" and rec["fields"]["state"] == 7


def test_rejects_in_json(capsys, tmp_path):
    f = tmp_path / "bad.txt"
    f.write_text("83 83 FE 3C 00 E6 87 5B FF\n00 FB 10 6F FF\n12 34 FF\n83 83 FE 3C 00\n")
    rc, out, _ = run(["decode", "--json", str(f)], capsys)
    recs = records(out)
    assert rc == 0
    assert [(r["ok"], r["kind"], r["error"]) for r in recs] == [
        (False, "data", "checksum"),
        (False, "short", "short"),
        (False, "garbage", "garbage"),
        (False, "data", "truncated"),
    ]
    assert recs[0]["frame_no"] == 0x3C and recs[0]["type"] == 0


def test_raw_binary_file(tmp_path, capsys):
    blob = b"".join(d for d, _ in vebus_vectors.load()[0])
    f = tmp_path / "bus.bin"
    f.write_bytes(b"\x00\x01" + blob)
    rc, out, _ = run(["decode", "--raw", str(f), "--json"], capsys)
    recs = records(out)
    assert rc == 0 and [r["ok"] for r in recs] == [False] + [True] * 8


class FakePort:
    """Chunks then Ctrl-C, like a user stopping a live capture."""

    def __init__(self, chunks):
        self.chunks = list(chunks)
        self.closed = False
        self.in_waiting = 0

    def read(self, n):
        if not self.chunks:
            raise KeyboardInterrupt
        return self.chunks.pop(0)

    def close(self):
        self.closed = True


def sniff_saving(chunks, tmp_path):
    """Sniff chunks (b"": a read timeout) with --save --json: (rc, records, stderr, capture)."""
    port = FakePort(chunks)
    times = iter(range(1000, 2000))
    cap = tmp_path / "cap.bin"
    args = cli.build_parser().parse_args(["sniff", "--port", "X", "--save", str(cap), "--json"])
    out, err = io.StringIO(), io.StringIO()
    rc = sniff.sniff(args, cli.Session, lambda p, b: port, lambda: float(next(times)), out, err)
    assert port.closed
    return rc, records(out.getvalue()), err.getvalue(), cap


def test_sniff_saves_a_capture_that_decode_reads_back(tmp_path, capsys):
    blob = b"".join(d for d, _ in vebus_vectors.load()[0]) + b"\x00\xfb\x10\x6f\xff"
    chunks = [blob[i : i + 7] for i in range(0, len(blob), 7)]
    rc, live, err, cap = sniff_saving(chunks, tmp_path)
    assert [r["ok"] for r in live] == [True] * 8 + [False]
    assert all(r["time"] is not None for r in live)
    assert rc == 0
    assert err.startswith("sniff: 8 frames, rejects: short 1; ") and "frames/s" in err
    assert cap.read_bytes().startswith(MAGIC)
    rc, back, _ = run(["decode", "--raw", str(cap), "--json"], capsys)
    assert rc == 0 and records(back) == live
    rc, text, _ = run(["decode", "--raw", str(cap)], capsys)
    assert text.splitlines()[0][2] == ":"  # HH:MM:SS.mmm first


def test_a_replayed_capture_gives_what_the_live_sniff_gave(tmp_path, capsys):
    # A frame cut by a bus silence (b"": a read timeout) is a reject live; its tail then starts
    # a garbage run up to the next FF. The replay must cut it at the same place.
    raw = [d for d, _ in vebus_vectors.load()[0]]
    chunks = [raw[0], raw[2][:9], b"", raw[2][9:] + raw[3], b"", raw[4][:3], b"", raw[5]]
    rc, live, _, cap = sniff_saving(chunks, tmp_path)
    assert rc == 0
    assert [(r["ok"], r["error"]) for r in live] == [
        (True, None),
        (False, "truncated"),
        (False, "garbage"),
        (True, None),
        (False, "garbage"),
        (True, None),
    ]
    rc, back, _ = run(["decode", "--raw", str(cap), "--json"], capsys)
    assert rc == 0 and records(back) == live


def test_decode_streams_input_of_any_size():
    """`decode --raw /dev/zero` runs in bounded memory (1 GB address space), printing as it goes"""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    p = subprocess.Popen(
        [sys.executable, "-m", "tools.vebus", "decode", "--raw", "/dev/zero"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        preexec_fn=limit,
    )
    try:
        assert p.stdout is not None
        lines = [p.stdout.readline() for _ in range(20000)]  # ~1.6 MB of zeros decoded
    finally:
        p.kill()
        p.wait()
    assert all(ln.startswith(b"REJECT garbage (bytes): 00 00") for ln in lines), lines[-1]


def test_bad_input_gives_one_line_and_nonzero_exit(tmp_path):
    cases = [
        (["decode"], "83 83 zz\n"),
        (["decode", str(tmp_path / "missing.txt")], None),
        (["decode", "--raw", str(tmp_path)], None),
        (["sniff", "--port", str(tmp_path / "no-such-tty")], None),
    ]
    for args, stdin in cases:
        p = cli_proc(args, stdin)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert "Traceback" not in p.stderr
        assert p.stderr.startswith("vebus "), p.stderr
    truncated = tmp_path / "cut.bin"
    truncated.write_bytes(MAGIC + b"\x00" * 5)
    p = cli_proc(["decode", "--raw", str(truncated)])
    assert p.returncode == 2 and "cut short" in p.stderr


def test_help_explains():
    p = cli_proc(["--help"])
    assert p.returncode == 0 and "decode" in p.stdout and "sniff" in p.stdout
    p = cli_proc(["decode", "--help"])
    assert p.returncode == 0 and "--mk2" in p.stdout and "kind" in p.stdout
    p = cli_proc([])
    assert p.returncode == 2


def test_sniff_mk2_cuts_a_partial_frame_at_a_read_timeout():
    # MK2 has no end byte: half a frame, a silence, then a whole frame must still come out.
    port = FakePort([b"\x07\xff\x56", b"", b"\x02\xff\x56\xa9"])
    args = cli.build_parser().parse_args(["sniff", "--port", "X", "--mk2", "--json"])
    out, err = io.StringIO(), io.StringIO()
    times = iter(range(100))
    rc = sniff.sniff(args, cli.Session, lambda p, b: port, lambda: float(next(times)), out, err)
    recs = records(out.getvalue())
    assert rc == 0
    assert [(r["ok"], r["kind"]) for r in recs] == [(False, "garbage"), (True, "mk2")]
    assert recs[1]["raw"] == "02ff56a9"
    assert err.getvalue().startswith("sniff: 1 frames, rejects: garbage 1; ")


def test_sniff_through_pyserial_from_a_socket(tmp_path):
    """The real pyserial path: a network RS485 bridge (socket://) sending the vectors."""
    import socket
    import threading

    blob = b"".join(d for d, _ in vebus_vectors.load()[0])
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    done = threading.Event()

    def serve():
        conn, _ = srv.accept()
        # pyserial drains the socket right after connecting (reset_input_buffer): send later.
        done.wait(0.3)
        conn.sendall(blob)
        done.wait(10)
        conn.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    cap = tmp_path / "sock.cap"
    url = "socket://127.0.0.1:%d" % srv.getsockname()[1]
    args = cli.build_parser().parse_args(
        ["sniff", "--port", url, "--duration", "2", "--save", str(cap), "--json"]
    )
    out, err = io.StringIO(), io.StringIO()
    try:
        rc = sniff.sniff(args, cli.Session, out=out, err=err)
    finally:
        done.set()
        srv.close()
    assert rc == 0, err.getvalue()
    recs = records(out.getvalue())
    assert [r["frame_no"] for r in recs] == [d[3] for d, _ in vebus_vectors.load()[0]]
    assert all(r["ok"] for r in recs)
    assert err.getvalue().startswith("sniff: 8 frames, rejects: none; ")
    back = io.StringIO()
    again = cli.build_parser().parse_args(["decode", "--raw", str(cap), "--json"])
    assert cli.decode(again, back) == 0
    assert records(back.getvalue()) == recs
