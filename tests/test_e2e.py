"""End to end on both VMs (virtual time: tests/fakes/vclock.py): boot.py, startup.build, the real
asyncio tasks, the fake machine, a scripted Multi on the fake UART (tests/fakes/multi.py).

boot -> outputs floating -> BTV loop OK for startup_ok_ms -> outputs on -> the BMS answers each
sync in the slot with N + 1 -> reads the Multi firmware -> low cell: pre-alarm, 30 s later load
disconnect and the Multi told to sleep -> open loop (latched) -> a task stops -> the watchdog
resets the chip, outputs floating through it -> after the reboot the latched fault is back.
"""

from apprig import (
    BTV,
    OUTS,
    _battery_ok,
    _boot,
    _floating,
    _fresh,
    _power_up,
    _run,
    _with_multi,
)
from vmtest import fresh_root

from vebus import catalogue as cat
from vebus import peers

machine = __import__("machine")  # the fake of tests/fakes (typed as a plain module)


def test_boot_to_watchdog_reset_with_a_scripted_multi():
    _fresh()
    import vclock  # pyright: ignore[reportMissingImports]
    from multi import ScriptedMulti  # pyright: ignore[reportMissingImports]

    from firmware.app import TASK_NAMES
    from firmware.app_texts import EV_WATCHDOG_RESET
    from firmware.core.codes import EV_BOOT, EV_FAULT_LATCHED, EV_LOAD_OFF, EV_PREALARM_ON
    from firmware.core.eventread import records

    T_LEDS = TASK_NAMES.index("leds")

    machine.reset_fakes()
    for p in OUTS:  # as a crash might have left them
        machine.Pin(p, machine.Pin.OUT, value=1)
    root = fresh_root("e2e")
    clock = vclock.VClock()
    app = _power_up(root, clock)
    assert _floating() == [True, True, True]
    multi = ScriptedMulti(machine.uarts[0], clock.t)
    clock.hooks.append(multi)
    t0 = clock.t

    def safe_until_loop_ok(t):
        if t - t0 < 2000:  # startup_ok_ms: nothing on before the loop read OK that long
            assert _floating() == [True, True, True], t - t0

    _run(app, 1900, safe_until_loop_ok)
    _run(app, 400)
    assert _floating() == [False, False, True]  # loads on, chargers on, no pre-alarm
    assert machine.pins[13].is_driven_high() and machine.pins[14].is_driven_high()
    # the BMS answered in the slot with N + 1, and read the Multi's firmware
    assert multi.syncs >= 110 and len(multi.got) >= 5
    assert multi.wrong_no == 0 and 0 <= multi.max_delay <= 3
    assert app.role.multi_present and app.role.multi_version == 491
    assert len(multi.frames(cat.MSG_INFO)) >= 1  # status frames (INFERRED layout)
    assert machine.uarts[0].lost == 0 and app.port.collisions == 0
    # low cell: pre-alarm at once, load disconnect no sooner than 30 s after it
    machine.Pin(BTV[0]).external = 0
    t_low = clock.t
    _run(app, 1000)
    assert _floating() == [False, False, False]  # pre-alarm driven high
    _run(app, 28_000)
    assert not machine.pins[13].is_floating()  # still loads on before 30 s
    _run(app, 2_000)
    assert _floating() == [True, False, True]  # loads off, pre-alarm off again
    codes = [e[1] for e in app.log.entries()]
    assert EV_PREALARM_ON in codes and EV_LOAD_OFF in codes
    sleeps = [g for g in multi.frames(cat.MSG_SWITCH) if g[3][1] == cat.SWITCH_SLEEP]
    assert sleeps and all(g[1] == g[2] for g in sleeps)
    assert clock.t - t_low >= 30_000
    # open loop: every line drops; the fault latches and reaches flash
    for p in BTV:
        machine.Pin(p).external = 0
    _run(app, 2_000)
    assert app.out.latched and _floating() == [True, True, True]
    # a task stops: the supervisor stops feeding, the WDT resets the chip
    app.tasks[T_LEDS].cancel()
    hung_at = clock.t
    reset = False
    try:
        _run(app, 10_000, lambda t: _floating() == [True, True, True] or 1 / 0)
    except machine.ResetRequested:
        reset = True
    assert reset and 3000 < clock.t - hung_at <= 1000 + 3000 + 300
    # the chip restarts: RAM and pins lost, files kept
    del app, multi
    clock.hooks[:] = []
    machine.reset_fakes(machine.WDT_RESET)
    assert _floating() == [True, True, True]
    app2 = _power_up(root, clock)
    for p in BTV:
        machine.Pin(p).external = 0  # the loop is still open
    multi2 = ScriptedMulti(machine.uarts[0], clock.t)
    clock.hooks[:] = [multi2]
    _run(app2, 3000)
    assert app2.out.latched and _floating() == [True, True, True]
    codes = [e[1] for e in app2.log.entries()]
    assert EV_WATCHDOG_RESET in codes
    boot = [e for e in app2.log.entries() if e[1] == EV_BOOT][0]
    assert boot[3] == 1  # booted with the fault latched
    # the loop comes back: outputs only after it read OK for startup_ok_ms
    _battery_ok()
    _run(app2, 1500)
    assert _floating() == [True, True, True]
    _run(app2, 1500)
    assert not app2.out.latched and _floating() == [False, False, True]
    flash = [r[0] for r in records(root + "events.log")]
    assert EV_FAULT_LATCHED in flash and EV_WATCHDOG_RESET in flash


def test_a_step_that_raises_floats_outputs_logs_and_resets():
    _fresh()
    import vclock  # pyright: ignore[reportMissingImports]

    from firmware.app import TASK_NAMES
    from firmware.app_texts import EV_CRASH

    T_LEDS = TASK_NAMES.index("leds")

    machine.reset_fakes()
    root = fresh_root("e2e-crash")
    clock = vclock.VClock()
    app = _power_up(root, clock)
    _run(app, 2500)
    assert _floating() == [False, False, True]

    def broken(now):
        raise ValueError("planted")

    # the LED task's loop, with a step that raises (the other tasks keep running)
    app.tasks[T_LEDS].cancel()
    got = None
    import asyncio

    async def crash():
        app.tasks[T_LEDS] = asyncio.create_task(app._every(T_LEDS, broken))
        await asyncio.sleep_ms(1000)

    try:
        vclock.run(crash())
    except machine.ResetRequested:
        got = app.crashed
    assert isinstance(got, ValueError)
    assert _floating() == [True, True, True]
    from firmware.core.eventread import records

    assert EV_CRASH in [r[0] for r in records(root + "events.log")]


def test_listen_mode_transmits_nothing_and_still_protects():
    _fresh()

    import vclock  # pyright: ignore[reportMissingImports]
    from multi import ScriptedMulti  # pyright: ignore[reportMissingImports]

    import startup
    from firmware.core.settings import Settings

    machine.reset_fakes()
    root = fresh_root("e2e-listen")
    clock = vclock.VClock()
    vclock.fresh()
    vclock.install(clock)
    _boot()
    _battery_ok()
    app = startup.build(root, clock.ticks_ms, Settings())  # vebus_mode defaults to "listen"
    multi = ScriptedMulti(machine.uarts[0], clock.t)
    clock.hooks.append(multi)
    _run(app, 3000)
    assert app.role.multi_present and app.role.syncs >= 140
    assert multi.total == 0 and machine.uarts[0].writes == 0  # not one byte on the bus
    assert app.port.tx_frames == 0 and app.role.multi_version == 0
    assert _floating() == [False, False, True]  # outputs follow the BTV loop all the same
    machine.Pin(BTV[1]).external = 0  # high cell: charge disconnect at once
    _run(app, 200)
    assert _floating() == [False, True, True]


def test_low_power_mode_sleeps_between_ticks_while_the_multi_is_off():
    _fresh()
    import vclock  # pyright: ignore[reportMissingImports]

    machine.reset_fakes()
    root = fresh_root("e2e-lowpower")
    clock = vclock.VClock()
    app = _power_up(root, clock)
    machine.Pin(11).external = 0  # remote off: the BMS in low power, no Multi on the bus
    t0 = clock.t
    _run(app, 5000)
    assert app.out.low_power and not app.role.multi_present
    assert _floating() == [True, True, True]
    assert machine.lightsleep_calls > 100
    assert machine.lightsleep_ms > (clock.t - t0) // 2  # asleep most of the time
    assert machine.wdt is not None and not machine.wdt.expired(clock.t)
    machine.Pin(11).external = 1  # remote on: normal ticks again, outputs after start-up
    _run(app, 3000)
    assert not app.out.low_power and _floating() == [False, False, True]


def test_gx_probe_on_the_panel_port_is_answered_there_as_a_v2():
    _fresh()
    import vclock  # pyright: ignore[reportMissingImports]
    from multi import ScriptedMulti  # pyright: ignore[reportMissingImports]

    from firmware.app_texts import EV_BMS_PROBE
    from vebus import T_SYNC, Decoder, encode_data, next_frame_no

    root = fresh_root("e2e-probe")
    clock = vclock.VClock()
    app = _power_up(root, clock, panel=True)
    multi = ScriptedMulti(machine.uarts[0], clock.t)
    clock.hooks.append(multi)
    _run(app, 500)
    pay = bytearray(8)
    frame = bytearray(32)
    n = encode_data(frame, cat.BMS_ADDR, 0x10, pay, peers.build_probe(pay))
    panel = machine.uarts[1]
    panel.take_tx()
    panel.inject(bytes(frame[:n]))  # the GX's MK3 on the Remote panel port (manual 3.5)
    _run(app, 100)
    # answered on the port it came from, numbered N + 1 of the sync relayed before it
    wire = []
    Decoder(lambda f: wire.append((f.t, f.frame_no, bytes(f.payload)))).feed(panel.take_tx())
    answers = [k for k in range(len(wire)) if peers.answer_version(wire[k][2], 10) >= 0]
    assert len(answers) == 1 and peers.answer_version(wire[answers[0]][2], 10) == 1146100
    syncs = [w[1] for w in wire[: answers[0]] if w[0] == T_SYNC]
    assert wire[answers[0]][1] == next_frame_no(syncs[-1])
    assert not [g for g in multi.got if peers.answer_version(g[3], len(g[3])) >= 0]
    assert EV_BMS_PROBE in [e[1] for e in app.log.entries()]


def test_a_stopped_task_floats_the_outputs_before_the_watchdog_resets():
    _fresh()
    import vclock  # pyright: ignore[reportMissingImports]

    from firmware.app import PERIODS, TASK_NAMES
    from firmware.app_texts import EV_TASK_STALE

    T_PROTECT = TASK_NAMES.index("protect")
    T_SUPERVISOR = TASK_NAMES.index("supervisor")

    root = fresh_root("e2e-stale")
    clock = vclock.VClock()
    app = _power_up(root, clock)
    _run(app, 2500)
    assert _floating() == [False, False, True]
    app.tasks[T_PROTECT].cancel()  # the task that drives the outputs stops
    t_stop = clock.t
    gap, sup = PERIODS[T_PROTECT][2], PERIODS[T_SUPERVISOR][0]
    _run(app, gap - 50)
    assert _floating() == [False, False, True]  # within its allowed gap
    _run(app, sup + 50)
    assert _floating() == [True, True, True] and app.halted
    assert clock.t - t_stop <= 1000  # any hang: outputs floating within 1 s
    assert [e for e in app.log.entries() if e[1] == EV_TASK_STALE][0][3] == T_PROTECT
    try:
        _run(app, 5000, lambda t: _floating() == [True, True, True] or 1 / 0)
        reset = False
    except machine.ResetRequested:
        reset = True
    assert reset and clock.t - t_stop <= gap + sup + 3000 + 20


def test_old_multi_firmware_is_read_on_the_bus_and_gives_vebus_error_15():
    _fresh()
    import vclock  # pyright: ignore[reportMissingImports]
    from multi import ScriptedMulti  # pyright: ignore[reportMissingImports]

    root = fresh_root("e2e-error15")
    clock = vclock.VClock()
    app = _power_up(root, clock)
    multi = ScriptedMulti(machine.uarts[0], clock.t, version=1915400)  # firmware 400 < 415
    clock.hooks.append(multi)
    _run(app, 4000)
    assert app.role.multi_version == 400 and app.out.error == 15
    assert app.out.low_power  # the Multi held off: status at the low-power interval (10 s)
    _run(app, 10_000)
    status = [g[3] for g in multi.got if peers.is_bms_status(g[3], len(g[3]))]
    assert status and status[-1][6] & cat.STATUS_ERROR and status[-1][8] == 15
    switches = [g[3][1] for g in multi.got if g[3][0] == cat.MSG_SWITCH]
    assert switches and switches[-1] == cat.SWITCH_SLEEP  # the Multi held off


def test_low_power_after_a_low_cell_shutdown_sleeps_while_the_multi_stays_on_the_bus():
    # ../shared/btv.md "Outputs": supply current 2 mA after a low-cell shutdown; the Multi (still
    # on the bus, no AC) is held off by a switch frame every second, each in its slot.
    app, clock, multi = _with_multi("e2e-lowcell-sleep")
    _run(app, 3000)
    machine.Pin(BTV[0]).external = 0  # low cell
    _run(app, 33_000)
    assert app.out.low_power and app.role.multi_present and _floating()[0]
    calls, slept, t0 = machine.lightsleep_calls, machine.lightsleep_ms, clock.t
    switches = multi.by_msg.get(cat.MSG_SWITCH, 0)
    _run(app, 10_000)
    assert machine.lightsleep_calls - calls > 300
    assert machine.lightsleep_ms - slept > (clock.t - t0) // 2  # asleep most of the time
    assert multi.by_msg.get(cat.MSG_SWITCH, 0) - switches >= 9  # the Multi held off, every 1 s
    held = multi.frames(cat.MSG_SWITCH)[-5:]
    assert all(g[0] <= 3 and g[1] == g[2] and g[3][1] == cat.SWITCH_SLEEP for g in held)
    assert app.role.multi_present and app.port.collisions == 0
    assert machine.wdt is not None and not machine.wdt.expired(clock.t)


def teardown_module():
    """(pytest, one process for every module) no virtual clock left behind for the next ones."""
    import vclock  # pyright: ignore[reportMissingImports]

    vclock.fresh()
    machine.set_clock(None)
    machine.sleep_hook = None
