"""The fake `machine` behaves like the hardware subset the firmware relies on (both VMs)."""

from vmtest import raises

machine = __import__("machine")  # the fake of tests/fakes (typed as a plain module)


def test_pin_state_is_shared_and_floating_means_high_impedance():
    machine.reset_fakes()
    p = machine.Pin(5)
    assert p.is_floating()  # never configured since reset
    q = machine.Pin(5, machine.Pin.OUT, value=1)
    assert machine.pins[5] is p
    assert p.value() == 1 and not p.is_floating() and p.is_driven_high()
    p.init(machine.Pin.IN)
    assert q.is_floating()
    p.init(machine.Pin.IN, machine.Pin.PULL_DOWN)
    assert not p.is_floating()
    od = machine.Pin(6, machine.Pin.OPEN_DRAIN, value=1)
    assert od.is_floating()
    od.off()
    assert not od.is_floating() and od.value() == 0


def test_pin_external_level_and_pulls():
    machine.reset_fakes()
    p = machine.Pin(3, machine.Pin.IN, machine.Pin.PULL_UP)
    assert p.value() == 1
    p.external = 0
    assert machine.Pin(3).value() == 0
    p.external = None
    p.init(pull=machine.Pin.PULL_DOWN)
    assert p.value() == 0
    n = p.transitions
    p.init(machine.Pin.OUT, value=1)
    assert p.transitions == n + 1


def test_uart_echo_take_tx_and_de_gating():
    machine.reset_fakes()
    u = machine.UART(0, 256000, rxbuf=8)
    de = machine.Pin(2, machine.Pin.OUT, value=0)
    u.de = de
    u.write(b"\x01\x02")
    assert u.lost == 2 and u.take_tx() == b"" and u.any() == 0
    de.on()
    u.write(b"\x03\x04")
    assert not u.txdone() and u.txdone()
    assert u.take_tx() == b"\x03\x04" and u.take_tx() == b""
    assert u.read() == b"\x03\x04"  # own echo
    u.inject(b"0123456789")
    assert u.overruns == 2 and u.any() == 8
    buf = bytearray(5)
    assert u.readinto(buf) == 5 and bytes(buf) == b"01234"
    assert u.readinto(memoryview(buf)[1:3]) == 2 and bytes(buf) == b"05634"
    assert u.read(10) == b"7" and u.read() is None and u.readinto(buf) is None
    assert machine.uarts[0] is u


def test_wdt_expiry_reset_and_power_cycle():
    machine.reset_fakes()
    now = [1000]
    machine.set_clock(lambda: now[0])
    try:
        w = machine.WDT(timeout=2000)
        assert machine.wdt is w
        now[0] = 2900
        w.feed()
        assert not w.expired(4900) and w.expired(4901)
    finally:
        machine.set_clock(None)
    raises(machine.ResetRequested, machine.reset)
    assert not isinstance(machine.ResetRequested(), Exception)
    machine.reset_fakes(machine.WDT_RESET)
    assert machine.wdt is None and not machine.pins and not machine.uarts
    assert machine.reset_cause() == machine.WDT_RESET
    slept = []
    machine.sleep_hook = slept.append
    machine.lightsleep(20)
    assert slept == [20] and machine.lightsleep_calls == 1 and machine.lightsleep_ms == 20
    machine.reset_fakes()
    assert machine.reset_cause() == machine.PWRON_RESET
