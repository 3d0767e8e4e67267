"""`python -m tools.sim`: help, and one clear line (never a traceback) for a bad scenario."""

import json
import sys

from toolrun import ROOT, run_tool


def _sim(*args):
    return run_tool("tools.sim", *args)


def test_help_explains_the_format():
    r = _sim("run", "--help")
    assert r.returncode == 0
    assert "--out" in r.stdout and "--fidelity" in r.stdout
    top = _sim("--help")
    assert "scenario format" in top.stdout and "bus_noise" in top.stdout


def test_bad_scenarios_get_one_line_naming_the_key(tmp_path):
    cases = {
        "bad_json": ("{", "not valid JSON"),
        "bad_btv": (
            json.dumps({"name": "x", "duration_s": 5, "inputs": [{"t": 1, "btv": "flat"}]}),
            "inputs[0].btv",
        ),
        "bad_setting": (
            json.dumps({"name": "x", "duration_s": 5, "settings": {"min_hold_s": 0}}),
            "settings.min_hold_s",
        ),
        "unknown_setting": (
            json.dumps({"name": "x", "duration_s": 5, "settings": {"colour": 1}}),
            "settings.colour",
        ),
    }
    for name, (text, key) in cases.items():
        p = tmp_path / (name + ".json")
        p.write_text(text)
        r = _sim("run", str(p), "--out", str(tmp_path / name))
        assert r.returncode == 2, (name, r.stderr)
        assert r.stdout == ""
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and key in lines[0], (name, r.stderr)
        assert "Traceback" not in r.stderr
    r = _sim("run", str(tmp_path / "missing.json"), "--out", str(tmp_path / "m"))
    assert r.returncode == 2 and "cannot read" in r.stderr


def test_every_shipped_scenario_is_valid():
    files = sorted(str(p) for p in (ROOT / "scenarios").glob("*.json"))
    assert len(files) >= 16
    r = _sim("check", *files)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(": ok (") == len(files)


class _Err:
    """stderr as a log file (isatty False) or as a terminal."""

    def __init__(self, tty):
        self.tty = tty
        self.text = ""

    def isatty(self):
        return self.tty

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def _run_logged(tmp_path, monkeypatch, tty):
    from tools.sim import __main__ as cli
    from tools.sim import runner

    scn = tmp_path / "short.json"
    scn.write_text(json.dumps({"name": "short", "duration_s": 20, "inputs": []}))
    monkeypatch.setattr(runner, "PROGRESS_EVERY_S", 0.0)  # every step would update it
    err = _Err(tty)
    monkeypatch.setattr(sys, "stderr", err)
    assert cli.main(["run", str(scn), "--out", str(tmp_path / "o"), "--no-png"]) == 0
    return err.text


def test_progress_is_live_on_a_terminal_and_one_plain_line_in_a_log(tmp_path, monkeypatch):
    logged = _run_logged(tmp_path, monkeypatch, tty=False)
    assert "\r" not in logged
    assert logged.splitlines() == ["sim: short: simulating 0.01 h (full bus) ..."]
    live = _run_logged(tmp_path, monkeypatch, tty=True)
    assert live.count("\r") > 10 and live.endswith("\n")
