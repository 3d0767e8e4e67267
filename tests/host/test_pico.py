"""The deployed image on the emulated Pico (../shared/rp2emu): a short smoke of `make pico`.

One run of ~4.7 emulated s (tools/pico/scenarios.normal, smoke=True; ~40 s wall): boot with the
loop OK, the Multi's traffic (a saturated window at 3.5 s), a GX probe, a battery pre-alarm and a
high cell on the BTV lines, Ctrl-C on the console. What is asserted is what a bench tester sees
on the pins and the wire: docs/hardware.md section 4 (outputs floating = off, from power-on),
vebus.md's slot (one frame numbered N + 1 right after the sync), the manual's reactions (as
firmware/core/protection.py's docstring words them). Checks that fail today because of a known
firmware defect are xfail (strict=False) and name it. Without an emulator (no ../shared): skipped
with the one line saying what is missing. Bad input: one clear error each, never a silent pass.
"""

import os
import shutil

import pytest

from tools.pico import emu, relay
from tools.pico import figures as fg
from tools.pico import scenarios as sc
from tools.pico.trace import Trace, TraceError


def _skip_reason():
    try:
        emu.find_tools()
    except emu.PicoSkip as e:
        return str(e)
    except emu.PicoError:  # a damaged image, rp2040js missing: the runs fail with its line
        pass
    return None


SKIP = _skip_reason()
needs_emu = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")


@pytest.fixture(scope="module")
def smoke():
    return sc.normal(smoke=True)


def check(res, start):
    found = [c for c in res.checks if c.name.startswith(start)]
    assert found, "no check %r" % start
    return found


def passes(res, start):
    for c in check(res, start):
        assert c.ok, repr(c)


@needs_emu
def test_load_and_charge_outputs_float_from_power_on_until_the_app_turns_them_on(smoke):
    passes(smoke, "load disconnect")
    passes(smoke, "charge disconnect")
    passes(smoke, "pre-alarm floating before main.py")
    passes(smoke, "load and charge disconnect on after start-up")


@needs_emu
def test_pre_alarm_pin_is_never_held_before_the_app(smoke):
    # docs/hardware.md: the pre-alarm is on a pin pico-sdk never borrows (not GPIO15)
    assert fg.OUTPUT_PINS["pre-alarm"] != 15
    passes(smoke, "pre-alarm (GPIO%d)" % fg.OUTPUT_PINS["pre-alarm"])


@needs_emu
def test_no_traceback_no_overrun_no_reset(smoke):
    for name in ("no traceback", "no RX overrun while awake", "no reset"):
        passes(smoke, name)


@needs_emu
def test_the_bms_answers_each_sync_with_frame_number_n_plus_1(smoke):
    passes(smoke, "the BMS transmits")
    passes(smoke, "each frame numbered")
    passes(smoke, "GX probe answered")


@needs_emu
def test_frames_start_at_a_steady_offset_in_the_slot(smoke):
    # vebus.md: the BMS's frame follows the sync; a fixed offset (SLOT_US after the line went
    # idle) whatever task runs, at most 2 ms after the sync's end, jitter at most 0.5 ms (a
    # frame that would start later is not sent: firmware/hw/rs485.py SLOT_LAST_US)
    passes(smoke, "pico_slot_offset_us_max")
    passes(smoke, "pico_slot_jitter_us")


@needs_emu
def test_de_released_within_100_us(smoke):
    passes(smoke, "pico_de_release_us_max")


@needs_emu
def test_no_collision_with_the_multis_frames(smoke):
    passes(smoke, "pico_bus_overlap_bytes")


@needs_emu
def test_outputs_follow_the_btv_lines_within_debounce_and_one_inputs_tick(smoke):
    # never sooner than the debounce: a shorter glitch must not switch an output
    passes(smoke, "BTV GPIO")
    for c in check(smoke, "BTV GPIO"):
        assert c.value >= fg.DEBOUNCE_MS, repr(c)


@needs_emu
def test_ctrl_c_floats_the_outputs_and_silences_the_bms(smoke):
    passes(smoke, "Ctrl-C on the console")  # both: outputs floating, no frame after it


# ---- the relay between the ports (tools/pico/relay.py's scenario, 4 emulated s) ----
# What a bench tester sees with both ports at full traffic: docs/protocol.md ("Between the two
# ports", inferred rules), the manual 3.5 (the GX on the Remote panel port sees the Multi and
# the BMS), vebus.md (a node's frame numbered sync + 1 right after the sync; DE released at once).
@pytest.fixture(scope="module")
def relay_smoke():
    res = relay.scenario(smoke=True)
    if not relay.figures(res.run.trace, relay.SMOKE["gx_from"])["relayed"]:
        pytest.skip(relay.D_NO_RELAY)
    return res


@needs_emu
def test_relay_the_multis_frames_reach_the_panel_port_unchanged_and_in_order(relay_smoke):
    passes(relay_smoke, "the Multi's frames relayed to UART1")


@needs_emu
def test_relay_keeps_up_with_a_saturated_window(relay_smoke):
    passes(relay_smoke, "no Multi frame left out")
    passes(relay_smoke, "pico_relay_latency_ms_max")


@needs_emu
def test_relay_panel_de_released_within_100_us_and_never_low_while_sending(relay_smoke):
    passes(relay_smoke, "pico_panel_de_release_us_max")
    passes(relay_smoke, "no byte sent on UART1 with its DE low")


# The static GX answers a fixed time after each sync, as if the relay had no latency: in the
# syncs right after a saturated window its frames come before their relayed sync; at most 5 %.
@needs_emu
def test_relay_the_gx_has_the_panel_bus_in_its_slot(relay_smoke):
    passes(relay_smoke, "the stimulus' GX answered at most")
    passes(relay_smoke, "the panel bus left to the GX in its slot")


@needs_emu
def test_relay_gx_requests_reach_the_multi_in_the_bms_slot_renumbered(relay_smoke):
    passes(relay_smoke, "every GX request on UART0")
    passes(relay_smoke, "each frame numbered")


@needs_emu
def test_relay_the_gx_probe_is_answered_on_the_panel_port(relay_smoke):
    passes(relay_smoke, "the GX's probe answered on UART1")


@needs_emu
def test_relay_both_ports_busy_no_overrun_no_reset_and_the_multi_side_de_in_time(relay_smoke):
    for name in (
        "no traceback",
        "no RX overrun while awake",
        "no reset",
        "pico_de_release_us_max",
    ):
        passes(relay_smoke, name)


# ---- bad input: one clear line each ----
def test_a_damaged_firmware_image_is_refused(tmp_path):
    bad = tmp_path / "firmware.bin"
    bad.write_bytes(bytes(range(256)) * 400)
    with pytest.raises(emu.PicoError, match="damaged"):
        emu.check_firmware(bad)
    uf2 = tmp_path / "x.uf2"
    uf2.write_bytes(b"\0" * 4096)
    with pytest.raises(emu.PicoError, match="not an RP2040 .uf2"):
        emu.check_firmware(uf2)
    with pytest.raises(emu.PicoError, match="No such file"):
        emu.check_firmware(tmp_path / "missing.uf2")


def test_a_good_boot2_checksum_passes(tmp_path):
    raw = bytearray(64 * 1024)
    raw[252:256] = emu._crc32_mpeg2(raw[:252]).to_bytes(4, "little")
    good = tmp_path / "fw.bin"
    good.write_bytes(bytes(raw))
    emu.check_firmware(good)


def test_without_a_firmware_image_the_run_is_skipped_with_one_line(monkeypatch, tmp_path):
    if not shutil.which("node"):
        pytest.skip("no node")
    (tmp_path / "run.mjs").write_text("")  # an emulator folder without its firmware/ build
    monkeypatch.setenv("PICO_EMU_DIR", str(tmp_path))
    monkeypatch.delenv("PICO_FIRMWARE", raising=False)
    with pytest.raises(emu.PicoSkip, match="no firmware image"):
        emu.find_tools()


def test_a_firmware_image_named_but_missing_is_an_error_not_a_skip(monkeypatch, tmp_path):
    if not (emu.emu_dir() / "run.mjs").exists() or not shutil.which("node"):
        pytest.skip(SKIP or "no emulator")
    monkeypatch.setenv("PICO_FIRMWARE", str(tmp_path / "RPI_PICO.uf2"))
    with pytest.raises(emu.PicoError, match="no firmware image"):
        emu.find_tools()


@needs_emu
def test_missing_rp2040js_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("RP2040JS_DIR", str(tmp_path))
    with pytest.raises(emu.PicoError, match="rp2040js is missing"):
        emu.find_tools()


@needs_emu
def test_a_run_over_its_wall_clock_limit_is_an_error_not_a_pass():
    with pytest.raises(emu.PicoError, match="wall-clock limit"):
        emu.run("timeout", [], 60_000, timeout_s=1)


def test_an_unreadable_trace_is_one_clear_error(tmp_path):
    p = tmp_path / "trace.jsonl"
    p.write_text('{"ev": "gpio"}\n{"ev": "gp')
    with pytest.raises(TraceError, match="line 2 is not JSON"):
        Trace.load(p)
    p.write_text("")
    with pytest.raises(TraceError, match="empty"):
        Trace.load(p)
    with pytest.raises(TraceError, match="cannot be read"):
        Trace.load(os.path.join(tmp_path, "none.jsonl"))


# ---- the relay's figures, read off a hand-made trace (no emulator needed) ----
def _multi_frames():
    """A sync N=5, the AC info numbered 6, the next sync N=6 (vebus.md's layout)."""
    from vebus import encode_data, encode_sync, peers

    buf, pay = bytearray(40), bytearray(32)
    s5 = bytes(buf[: encode_sync(buf, 5, pay, peers.build_sync(pay, 0, 0))])
    info = bytes(buf[: encode_data(buf, 0x8383, 6, pay, peers.build_ac_info(pay, 50000, 1300))])
    s6 = bytes(buf[: encode_sync(buf, 6, pay, peers.build_sync(pay, 0, 90))])
    return [(1000.0, s5), (6000.0, info), (21000.0, s6)]


def _relay_trace(panel, de=True):
    """The Multi's frames on UART0; ours on UART1, panel = [(start_us, bytes)], each inside its
    own DE-high interval (DE up 5 us before, down 20 us after the last stop bit) unless not de."""
    from tools.pico.trace import BYTE_US

    recs = []
    for t0, data in _multi_frames():
        for i, x in enumerate(data):
            s = t0 + i * BYTE_US
            recs.append(
                {"ev": "uart_rx", "t_us": s + BYTE_US, "uart": 0, "byte": x, "start_us": s}
            )
    for t0, data in panel:
        if de:
            recs.append({"ev": "gpio", "t_us": t0 - 5, "pin": 3, "dir": "out", "level": 1})
        for i, x in enumerate(data):
            recs.append({"ev": "uart_tx", "t_us": t0 + i * BYTE_US, "uart": 1, "byte": x})
        if de:
            end = t0 + len(data) * BYTE_US + 20
            recs.append({"ev": "gpio", "t_us": end, "pin": 3, "dir": "out", "level": 0})
    return Trace(sorted(recs, key=lambda r: r["t_us"]))


def test_relay_figures_see_each_multi_frame_on_the_panel_side_and_its_latency():
    from tools.pico import relay
    from tools.pico.trace import BYTE_US

    (_, s5), (_, info), (_, s6) = _multi_frames()
    tr = _relay_trace([(2500.0, s5), (9000.0, info), (22000.0, s6)])
    pairs, foreign, skipped = relay.relayed(tr)
    assert (len(pairs), foreign, skipped) == (3, 0, 0)
    # latency: the Multi frame's last stop bit -> our first start bit on UART1
    lat = relay.latencies_ms(pairs)
    assert abs(lat[0] - (2500 - (1000 + len(s5) * BYTE_US)) / 1000) < 1e-6
    assert abs(lat[1] - (9000 - (6000 + len(info) * BYTE_US)) / 1000) < 1e-6
    releases, outside = relay.de_figures(tr)
    assert [round(r) for r in releases] == [20, 20, 20] and outside == 0


def test_relay_figures_count_a_changed_a_skipped_and_an_undriven_frame():
    from tools.pico import relay

    (_, s5), (_, info), (_, s6) = _multi_frames()
    bad = bytearray(info)
    bad[6] ^= 1  # one payload bit changed on the way
    pairs, foreign, _ = relay.relayed(_relay_trace([(2500.0, s5), (9000.0, bytes(bad))]))
    assert len(pairs) == 1 and foreign == 1
    # out of order: the second sync before the AC info
    _, foreign, _ = relay.relayed(_relay_trace([(2500.0, s5), (9000.0, s6), (23000.0, info)]))
    assert foreign == 1
    _, _, skipped = relay.relayed(_relay_trace([(2500.0, s5), (22000.0, s6)]))
    assert skipped == 1  # the AC info between two relayed syncs never came
    tr = _relay_trace([(2500.0, s5)], de=False)
    assert relay.de_figures(tr) == ([], len(s5))  # every byte went out with DE low


def test_the_two_echo_harness_changes_only_the_echo_option(tmp_path, monkeypatch):
    # run.mjs's --rs485-echo takes one UART; echo_runner's copy takes it per port, and a
    # harness whose text moved is one clear error, never a run with one echo missing
    text = (
        "a\n    case '--rs485-echo': opt.echo = Number(v()); break;\n    if (opt.echo === idx) {\n"
    )
    (tmp_path / "run.mjs").write_text(text)
    (tmp_path / "mkfs.py").write_text("")
    monkeypatch.setattr(emu, "OUT", tmp_path / "out")
    got = emu.echo_runner(tmp_path / "run.mjs").read_text()
    assert "opt.echo === idx" not in got and "opt.echo = Number" not in got
    assert "(opt.echo || []).includes(idx)" in got and "push(Number(v()))" in got
    assert got.splitlines()[0] == "a"  # the rest as it was
    (tmp_path / "run.mjs").write_text("a\n")
    with pytest.raises(emu.PicoError, match="cannot give it a second --rs485-echo"):
        emu.echo_runner(tmp_path / "run.mjs")


def test_slot_figures_leave_out_the_syncs_of_the_probes_own_heap_measurement():
    # The probe's heap measurement (a collection and a print) holds every task and IRQ ~40 ms,
    # which no board does: a frame answering a sync that came then is the instrument's.
    from tools.pico import figures as fg
    from tools.pico.trace import BYTE_US
    from vebus import encode_data

    (t5, s5), _, (t6, s6) = _multi_frames()
    buf, pay = bytearray(40), bytes([0x00, 0x51, 0x05])
    recs = []
    for t0, data in ((t5, s5), (t6, s6)):
        for i, x in enumerate(data):
            s = t0 + i * BYTE_US
            recs.append(
                {"ev": "uart_rx", "t_us": s + BYTE_US, "uart": 0, "byte": x, "start_us": s}
            )
    ends = [t5 + len(s5) * BYTE_US, t6 + len(s6) * BYTE_US]
    for end, n, off in ((ends[0], 6, 1700), (ends[1], 7, 4000)):
        ours = bytes(buf[: encode_data(buf, 0x98F7, n, pay)])
        recs.append(
            {"ev": "gpio", "t_us": end + off - 5, "pin": fg.DE_PIN, "dir": "out", "level": 1}
        )
        for i, x in enumerate(ours):
            recs.append({"ev": "uart_tx", "t_us": end + off + i * BYTE_US, "uart": 0, "byte": x})
        done = end + off + len(ours) * BYTE_US + 8
        recs.append({"ev": "gpio", "t_us": done, "pin": fg.DE_PIN, "dir": "out", "level": 0})
    both = Trace(sorted(recs, key=lambda r: r["t_us"]))
    assert [round(r[2]) for r in fg.slots(both)] == [1700, 4000]
    probe = {"ev": "section", "t_us": ends[1] + 500, "us": 1000, "id": fg.S_PROBE, "cycles": 0}
    held = Trace(sorted(recs + [probe], key=lambda r: r["t_us"]))
    assert [round(r[2]) for r in fg.slots(held)] == [1700]
    assert fg.slot_figures(held)["pico_slot_offset_us_max"] == 1700


def test_an_overrun_counts_as_light_sleep_only_in_a_slow_clock_window():
    # MicroPython's light sleep runs clk_sys from the 12 MHz crystal: a 1 ms window with under
    # half of 125 000 cycles (busy + idle) is asleep; the UART is not served there.
    from tools.pico import figures as fg

    cum, recs = [0, 0], []
    for k, cycles in enumerate((125_000, 12_000, 125_000)):
        recs.append({"ev": "cpu", "t_us": k * 1000.0, "busy": cum[0], "idle": cum[1]})
        cum[0] += cycles // 10
        cum[1] += cycles - cycles // 10
    recs.append({"ev": "cpu", "t_us": 3000.0, "busy": cum[0], "idle": cum[1]})
    tr = Trace(recs)
    assert [fg.in_light_sleep(tr, t) for t in (500.0, 1500.0, 2500.0)] == [False, True, False]
    assert not fg.in_light_sleep(tr, 3500.0)  # after the last record: not known, not asleep
