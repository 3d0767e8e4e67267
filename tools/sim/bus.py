"""The virtual RS485 wiring: VE.Bus segments joining the simulated devices and the firmware.

A `Segment` is one twisted pair: bytes one node sends reach every other node on it at once (the
real line takes 39 us a byte; the simulator's nodes only ever talk in their slots, so there are no
collisions to model). `noise` is the probability that a byte on the wire arrives corrupted (one
random byte in its place), drawn from a seeded generator so that a run repeats exactly.
`join(other)` wires two segments into one (a looped cable: the BMS's Remote panel port plugged
into the Multi's side of the bus); `taps` see every frame sent on the segment, as a sniffer
would (tools/sim/relaytap.py).

`UartPort` joins a firmware UART (tests/fakes/machine.py) to a segment: what the firmware writes
goes on the wire at the moment it writes it (the fake UART's `on_tx`); what the wire carries is
injected into the UART's receive buffer (the fake UART also echoes the firmware's own bytes, as a
transceiver with its receiver enabled does). `connected = False` is a BMS unplugged from it.
"""


class Segment:
    def __init__(self, name, rng):
        self.name = name
        self.rng = rng
        self.ports = []
        self.noise = 0.0
        self.sender = None
        self.bytes = 0
        self.corrupted = 0
        self.peer = None  # a segment joined to this one (looped cable)
        self.taps = []  # fn(segment, src, data) for every frame sent here
        self.slot_taken = -1.0  # the time of the sync whose slot a controller here has used

    def attach(self, port):
        self.ports.append(port)
        return port

    def join(self, other):
        """One wire from here on (None: apart again)."""
        if other is None:
            if self.peer is not None:
                self.peer.peer = None
            self.peer = None
        else:
            self.peer = other
            other.peer = self

    def send(self, src, data):
        self.sender = src  # who is talking now (a model may ignore a node, as a Multi does a GX)
        self.bytes += len(data)
        if self.noise > 0.0:
            data = self._corrupt(data)
        self._deliver(src, data)
        peer = self.peer
        if peer is not None:
            peer.sender = src
            peer._deliver(src, data)

    def _deliver(self, src, data):
        for p in self.ports:
            if p is not src:
                p.receive(data)
        for tap in self.taps:
            tap(self, src, data)

    def _corrupt(self, data):
        rnd = self.rng.random
        out = None
        p = self.noise
        for i in range(len(data)):
            if rnd() < p:
                if out is None:
                    out = bytearray(data)
                out[i] = (data[i] + self.rng.randrange(1, 256)) & 0xFF
                self.corrupted += 1
        return data if out is None else bytes(out)


class UartPort:
    """The firmware's end of a segment: its fake UART."""

    def __init__(self, segment, uart):
        self.segment = segment
        self.uart = None
        self.connected = True
        self.tx_bytes = 0
        self.plug(uart)

    def plug(self, uart):
        """The firmware's UART on this port (a new one after each reboot; None: no such port)."""
        self.uart = uart
        if uart is not None:
            uart.on_tx = self.pump

    def receive(self, data):
        if self.connected and self.uart is not None:
            self.uart.inject(data)

    def pump(self):
        """Put the bytes the firmware wrote since the last call on the wire."""
        if self.uart is None:
            return
        data = self.uart.take_tx()
        if data and self.connected:
            self.tx_bytes += len(data)
            self.segment.send(self, data)
