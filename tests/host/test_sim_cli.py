"""`python -m tools.sim`: help, and one clear line (never a traceback) for a bad scenario."""

import json

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
