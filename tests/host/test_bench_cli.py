"""`make bench` (python -m tools.bench): each figure beside its goal, printed as it is measured."""

import sys
import types

from tools.bench import __main__ as bench


def _fake_module(monkeypatch, run, goals):
    mod = types.ModuleType("tools.bench.bench_zz_fake")
    mod.run = run  # type: ignore[attr-defined]
    mod.GOALS = goals  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tools.bench.bench_zz_fake", mod)
    monkeypatch.setattr(bench, "modules", lambda only=None: ["bench_zz_fake"])


def test_a_figure_is_printed_with_its_goal_before_the_module_ends(monkeypatch, capsys):
    seen_early = []

    def run(report):
        report({"speed_x": 1200.5})
        seen_early.append(capsys.readouterr().out)  # still inside the module's run
        return {"speed_x": 1200.5, "alloc_bytes": 16, "stream_bytes": 3604, "deadline_ms": 3}

    goals = {"speed_x": (">=", 1000), "alloc_bytes": ("==", 0), "stream_bytes": None}
    _fake_module(monkeypatch, run, goals)
    rc = bench.main([])
    out = capsys.readouterr().out
    assert seen_early[0].split() == ["speed_x", "1200.5", "goal", ">=", "1000", "pass"]
    lines = {ln.split()[0]: ln.split()[1:] for ln in out.splitlines() if ln[:6] != "bench:"}
    assert lines["alloc_bytes"] == ["16", "goal", "==", "0", "FAIL"]
    assert lines["stream_bytes"] == ["3604"]  # no goal: the figure alone
    assert "speed_x" not in lines  # printed once, early
    assert out.splitlines()[-1] == "bench: 4 figures, 2 with a goal: 1 pass, 1 FAIL (alloc_bytes)"
    assert rc == 1  # a failed check


def test_a_goal_may_name_another_figure_of_the_run(monkeypatch, capsys):
    def run():
        return {"delay_ms": 2, "deadline_ms": 3}

    _fake_module(monkeypatch, run, {"delay_ms": ("<=", "deadline_ms")})
    assert bench.main(["--json"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == '{"deadline_ms": 3, "delay_ms": 2}'  # --json: one object on stdout
    lines = [ln.split() for ln in err.splitlines()]
    assert ["delay_ms", "2", "goal", "<=", "deadline_ms", "(3)", "pass"] in lines


def test_no_matching_module_is_a_usage_error(capsys):
    assert bench.main(["--only", "no-such-bench"]) == 2
    assert capsys.readouterr().err.strip() == "bench: no benchmark module matches 'no-such-bench'"
