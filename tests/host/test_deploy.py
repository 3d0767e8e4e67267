"""tools/deploy.py without a board: build, dry run, the copy plan, and the no-board message."""

import subprocess
import sys
from pathlib import Path

import pytest

from tools import deploy

ROOT = Path(__file__).resolve().parents[2]


def test_dry_run_lists_every_board_file_and_the_mpy_total(tmp_path, capsys):
    items = deploy.build(out=tmp_path / "d")
    dests = [d for d, _, _ in items]
    assert "/boot.py" in dests and "/firmware/hw/rs485.mpy" in dests
    assert not [d for d in dests if d.endswith(".py") and d not in ("/boot.py", "/main.py")]
    total = deploy.dry_run(items)
    out = capsys.readouterr().out
    assert total == sum(s for d, _, s in items if d.endswith(".mpy")) and total > 0
    assert "total .mpy size %d bytes" % total in out
    for _, local, _ in items:  # every .mpy is a MicroPython v6 file
        if local.suffix == ".mpy":
            assert local.read_bytes()[:2] == b"M\x06"


def test_plan_copies_only_changed_files_and_removes_stale_ones(tmp_path):
    a, b = tmp_path / "a.mpy", tmp_path / "b.mpy"
    a.write_bytes(b"aaa")
    b.write_bytes(b"bbb")
    items = [("/firmware/a.mpy", a, 3), ("/firmware/b.mpy", b, 3)]
    remote = {
        "/firmware/a.mpy": deploy.sha256(a),
        "/firmware/b.mpy": "0" * 64,
        "/firmware/b.py": "1" * 64,  # would shadow b.mpy
        "/settings.json": "2" * 64,  # never touched
    }
    copy, stale = deploy.plan(items, remote)
    assert copy == [("/firmware/b.mpy", b)]
    assert stale == ["/firmware/b.py"]


def test_board_answers_are_parsed_and_mpy_versions_decoded():
    assert deploy.parse_hashes("H /boot.py abc\nnoise\nH /lib/x.mpy def\nEND\n") == {
        "/boot.py": "abc",
        "/lib/x.mpy": "def",
    }
    assert deploy.decode_mpy(2822) == (6, 3, "x64")
    assert deploy.decode_mpy(6 | 3 << 8 | 4 << 10) == (6, 3, "armv6m")  # RP2040
    assert deploy.target_path("lib/vebus/frame.py") == "/lib/vebus/frame.mpy"
    assert deploy.target_path("main.py") == "/main.py"


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "tools.deploy", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_no_board_is_one_clear_line_and_exit_1():
    proc = _cli("--port", "/dev/ttyNOPE-deploy-test")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        "deploy: no board answers on /dev/ttyNOPE-deploy-test "
        "(plugged in? port held by another program?)"
    ]
    assert "Traceback" not in proc.stdout + proc.stderr
    proc = _cli()
    assert proc.returncode == 2 and "--dry-run" in proc.stderr  # a usage error
    assert "Traceback" not in proc.stderr


def _on_vm(code):
    """Run board-side code on the MicroPython unix port (the scripts deploy sends)."""
    from tools.mptest import find_micropython

    proc = subprocess.run([find_micropython(), "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_board_side_scripts_run_on_micropython_and_agree_with_the_host(tmp_path):
    items = deploy.build(out=tmp_path / "build")
    board = tmp_path / "board"
    board.mkdir()
    (board / "settings.json").write_text("{}")
    (board / "firmware").mkdir()
    (board / "firmware" / "old.py").write_text("x = 1\n")  # stale: would shadow an .mpy
    copy, stale = deploy.plan(items, deploy.parse_hashes(_on_vm(deploy.hash_script(str(board)))))
    assert len(copy) == len(items) and stale == ["/firmware/old.py"]
    _on_vm(deploy.prepare_script(copy, stale, str(board)))  # folders made, stale file gone
    assert not (board / "firmware" / "old.py").exists()
    for dest, local in copy:  # what `mpremote fs cp` does
        (board / dest.lstrip("/")).write_bytes(local.read_bytes())
    after = deploy.parse_hashes(_on_vm(deploy.hash_script(str(board))))
    # verified: every hash equal, nothing stale; the settings are hashed (--settings verifies
    # them) but neither copied nor removed without --settings
    assert deploy.plan(items, after) == ([], [])
    assert after["/settings.json"] == deploy.sha256(board / "settings.json")


def test_a_settings_file_is_checked_against_the_firmware_table_first(tmp_path):
    good = tmp_path / "good.json"
    good.write_text('{"vebus_mode": "bms", "board": "esp32"}')
    assert deploy.check_settings(good) == good.read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text('{"vebus_mode": "loud"}')
    proc = _cli("--dry-run", "--settings", str(bad))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("deploy: %s: vebus_mode" % bad)
    bad.write_bytes(b'{"vebus_mode": "bms\xff"}')  # one byte that is not UTF-8
    proc = _cli("--dry-run", "--settings", str(bad))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.splitlines() == ["deploy: %s: not UTF-8 text" % bad]
    bad.write_text('{"vebus_mode": "loud", "min_hold_s": 0, "x": 1}')
    proc = _cli("--dry-run", "--settings", str(bad))
    assert proc.stderr.splitlines() == [
        "deploy: %s: min_hold_s: 0 is out of range 1..3600 (2 more: python -m tools.settings_doc"
        " --validate %s)" % (bad, bad)
    ]
    bad.write_text('{"btv_loop_input": 5, "btv_loop_input": 4}')
    proc = _cli("--dry-run", "--settings", str(bad))
    assert proc.stderr.splitlines() == ["deploy: %s: btv_loop_input: given twice" % bad]
    bad.write_text('{"btv_loop_input": 5}')  # a Pico has input 5, an ESP32 has not
    assert _cli("--dry-run", "--settings", str(bad), "--board", "pico").returncode == 0
    proc = _cli("--dry-run", "--settings", str(bad), "--board", "esp32")
    assert proc.returncode == 1 and proc.stderr.splitlines() == [
        "deploy: %s: btv_loop_input: no input 5: the esp32 board's BTV inputs are 0..3" % bad
    ]
    proc = _cli("--dry-run", "--settings", str(tmp_path / "missing.json"))
    assert proc.returncode == 1 and "cannot read" in proc.stderr


def test_settings_are_checked_for_the_connected_boards_profile(tmp_path, monkeypatch):
    """An ESP32 answers: a file fine for a Pico (input 5) is refused before anything is copied."""
    f = tmp_path / "s.json"
    f.write_text('{"btv_loop_input": 5}')
    ver, sub = deploy.mpy_cross_version(deploy.find_tool("mpy-cross"))
    monkeypatch.setattr(deploy.Board, "identify", lambda self: ("esp32", ver | sub << 8))
    monkeypatch.setattr(deploy, "build", lambda *a, **k: pytest.fail("built for a bad file"))
    with pytest.raises(deploy.DeployError) as e:
        deploy.deploy("/dev/null", log=lambda _: None, settings=f)
    assert str(e.value) == (
        "%s: btv_loop_input: no input 5: the esp32 board's BTV inputs are 0..3" % f
    )
