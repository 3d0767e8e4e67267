"""Bad input on the Remote panel port (a flood, a looped cable, a device in the wrong slot, a
frame too long for a slot) and the relay's cost, through the whole app (tests/test_panel.py says
how): the Multi side keeps its slot (vebus.md: a node's frame right after the sync, numbered
N + 1), nothing grows, the event log tells each kind once per episode, nothing is allocated per
relayed frame.
"""

from apprig import READ, _codes, _each_second, _fresh, _run, _system
from vmtest import alloc_bytes, fresh_root, locked, requires_vm

from firmware.bms.panel import EV_RELAY_FULL, EV_RELAY_LOOP, EV_RELAY_TOO_LONG, EV_RELAY_WRONG_SLOT
from firmware.core.codes import TX_RELAY
from vebus import encode_data

machine = __import__("machine")  # the fake of tests/fakes (typed as a plain module)


def test_bad_input_on_the_panel_port_keeps_the_multi_side_and_is_told_once():
    app, multi, dev = _system("panel_bad")
    relay = app.role.relay
    assert relay is not None
    dev.flood = (READ, 1)  # a flood: a frame every ms for 1 s (one a sync crosses)
    _run(app, 1000)
    dev.flood = None
    assert relay.to_multi.n <= 4 and relay.to_panel.n <= 8
    dev.loop = True  # a looped cable: the BMS's frames come back
    _run(app, 500)
    dev.loop = False
    dev.offset = 3  # a device answering in the wrong slot
    _each_second(app, dev, READ, 2)
    dev.offset = 1
    _each_second(app, dev, b"\x00\x52\x30" + bytes(27), 2)  # longer than a slot frame
    _run(app, 1000)
    for code in (EV_RELAY_FULL, EV_RELAY_LOOP, EV_RELAY_WRONG_SLOT, EV_RELAY_TOO_LONG):
        assert len(_codes(app, code)) == 1, code  # once per episode, not once per frame
    assert relay.refused[3] >= 2 and relay.refused[4] >= 2
    assert multi.wrong_no == 0 and multi.max_delay <= 3  # the Multi side keeps its slot
    relayed = app.role.sent[TX_RELAY]
    _each_second(app, dev, READ, 2)  # and afterwards the port works again
    assert app.role.sent[TX_RELAY] - relayed >= 1


class _Uart:
    """A UART stand-in that allocates nothing: `frame` arrives when told, writes echo back."""

    def __init__(self, frame):
        self.frame = frame
        self.i = len(frame)
        self.echo = bytearray(64)
        self.e = self.ne = 0
        self.writes = 0

    def write(self, buf, off, n):  # stream write(buf, off, max_len)
        for k in range(n):
            self.echo[k] = buf[off + k]
        self.e = 0
        self.ne = n
        self.writes += 1
        return n

    def flush(self):
        pass

    def any(self):
        return self.ne - self.e + len(self.frame) - self.i

    def readinto(self, buf, n):
        k = 0
        while k < n and self.e < self.ne:
            buf[k] = self.echo[self.e]
            self.e += 1
            k += 1
        while k < n and self.i < len(self.frame):
            buf[k] = self.frame[self.i]
            self.i += 1
            k += 1
        return k


def relay_rig(root):
    """The app relaying between its two ports, UARTs that allocate nothing: (app, cycles);
    cycles(n) runs n sync periods (a sync on the Multi port, the BMS's slot frame, the sync
    relayed, a GX request in the panel devices' slot). tools/bench/bench_relay_pico.py measures
    with it too (relay_alloc_bytes_per_frame)."""
    import startup
    from firmware.core.settings import Settings
    from vebus import encode_sync

    machine.reset_fakes()
    for p in (16, 17, 18, 10, 11):
        machine.Pin(p).external = 1
    s = Settings()
    s.set("vebus_mode", "bms")
    clock = [1000]
    app = startup.build(root, lambda: clock[0], s)
    buf = bytearray(40)
    sync = bytearray(buf[: encode_sync(buf, 5, b"\x55\x51\x18\x02")])
    read = bytearray(buf[: encode_data(buf, 0x98F7, 6, READ)])  # the GX in the slot after it
    uarts = (_Uart(sync), _Uart(read))
    for port, uart in zip(app.board.ports, uarts):
        port.uart = uart
        port._write = uart.write
        port._flush = uart.flush
    wd = app.wd
    rig = (app, clock, uarts, wd)

    def cycles(n):  # few free variables: a closure with more than 5 allocates per call
        app, clock, uarts, wd = rig
        for _ in range(n):
            clock[0] += 18
            t = clock[0]
            app.inputs_step(t)
            app.protect_step(t)
            app.bus_step(t)
            clock[0] += 2
            uarts[0].i = 0  # the Multi's sync, read 2 ms after the last read: its slot is open
            app.bus_step(clock[0])  # the BMS's slot frame, then the sync relayed to the panel
            uarts[1].i = 0  # the GX's frame in the panel devices' slot
            clock[0] += 4
            app.bus_step(clock[0])  # read, queued for the BMS's next slot on the Multi side
            for i in range(len(wd.last)):
                wd.check_in(i, clock[0])
            app.supervisor_step(clock[0])

    return app, cycles


def test_relaying_through_the_app_allocates_nothing():
    requires_vm()
    _fresh()
    app, cycles = relay_rig(fresh_root("panel-alloc"))
    cycles(300)  # start-up over, the Multi firmware asked, outputs on
    relay = app.role.relay
    assert relay is not None
    relayed = relay.relayed[:]
    assert alloc_bytes(cycles, 100) == 0
    locked(lambda: cycles(100))
    got = relay.relayed
    assert got[0] - relayed[0] >= 200 and got[1] - relayed[1] >= 150, (relayed, got)
