"""docs/settings.md is generated from the settings table and kept in step with it; the CLI."""

import json
import subprocess
import sys

from firmware.core import settings as st
from tools import settings_doc


def test_docs_settings_md_is_up_to_date():
    assert settings_doc.main(["--check"]) == 0


def test_every_key_is_documented_with_default_and_range():
    doc = settings_doc.render()
    for key, _kind, default, _lo, _hi in st.SPEC:
        assert "| `%s` |" % key in doc
        assert "`%s`" % json.dumps(default) in doc
    assert "| `prealarm_to_disconnect_s` | int | `30` | 30..3600 |" in doc


def test_validate_reports_each_refusal_on_one_line(tmp_path, capsys):
    f = tmp_path / "s.json"
    f.write_text(json.dumps({"min_hold_s": 5, "prealarm_to_disconnect_s": 10, "x": 1}))
    assert settings_doc.main(["--validate", str(f)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "%s: prealarm_to_disconnect_s: 10 is out of range 30..3600" % f,
        "%s: x: unknown setting" % f,
    ]
    f.write_text(json.dumps({"min_hold_s": 5}))
    assert settings_doc.main(["--validate", str(f)]) == 0


def test_cli_bad_input_is_one_line_and_non_zero(tmp_path):
    for args in (["--validate", str(tmp_path / "missing.json")], ["--validate", "/"]):
        p = subprocess.run(
            [sys.executable, "-m", "tools.settings_doc", *args], capture_output=True, text=True
        )
        assert p.returncode != 0 and "Traceback" not in p.stderr + p.stdout
        assert len(p.stdout.strip().splitlines()) == 1
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    p = subprocess.run(
        [sys.executable, "-m", "tools.settings_doc", "--validate", str(bad)],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 1 and "not valid JSON" in p.stdout and "Traceback" not in p.stderr
    bad.write_bytes(b'{"min_hold_s": 20, "board": "pi\xffco"}')  # one byte that is not UTF-8
    p = subprocess.run(
        [sys.executable, "-m", "tools.settings_doc", "--validate", str(bad)],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 1 and p.stderr == ""
    assert p.stdout.splitlines() == ["%s: not UTF-8 text" % bad]
    h = subprocess.run(
        [sys.executable, "-m", "tools.settings_doc", "--help"], capture_output=True, text=True
    )
    assert h.returncode == 0 and "--validate" in h.stdout
