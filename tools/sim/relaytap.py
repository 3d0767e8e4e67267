"""What crosses the BMS between its two VE.Bus ports, seen as a sniffer on each port would see it.

    tap = RelayTap(sim)        # after the sim built its segments (e.g. sim.at(0.0, ...))
    tap.latency_ms["to_panel"], tap.latency_ms["to_multi"]   # one figure per relayed frame

A frame that arrives at one port (sent by another node on that segment) and whose copy the
firmware starts on the other port later is a relayed frame; its latency is the copy's start minus
the arrival, in virtual ms. The simulator delivers a frame at once, so "arrival" is the moment it
is complete in the BMS's receive buffer and "start" the moment the firmware writes its copy.
Multi side -> panel side a copy is the same bytes; panel side -> Multi side it is renumbered for
the Multi's next sync, so the same address and payload. Frames repeat (a sync's number wraps
every 128 syncs, a GX polls the same variable): a copy is matched with the latest arrival of
the same frame, and each arrival with one copy only. What the firmware sends that arrived
nowhere (its status, its probe answer) is its own: `own` counts it.
"""

from vebus import Decoder

OTHER = {"multi": "panel", "panel": "multi"}
TO = {"multi": "to_multi", "panel": "to_panel"}


class RelayTap:
    def __init__(self, sim):
        self.loop = sim.loop
        self.fw_ports = (sim.fw_multi, sim.fw_panel)
        self.arrived = {"multi": {}, "panel": {}}  # frame key -> virtual time of its arrival
        self.latency_ms = {"to_panel": [], "to_multi": []}
        self.own = {"multi": 0, "panel": 0}
        self.arrivals = {"multi": 0, "panel": 0}
        self._dec = {}
        for seg in (sim.seg_multi, sim.seg_panel):
            name = seg.name
            self._dec[(name, False)] = Decoder(lambda f, s=name: self._arrival(s, f))
            self._dec[(name, True)] = Decoder(lambda f, s=name: self._copy(s, f))
            seg.taps.append(self._tap)

    def _tap(self, seg, src, data):
        self._dec[(seg.name, src in self.fw_ports)].feed(data)

    @staticmethod
    def _key(f, numbered):
        return (f.addr, f.t, f.frame_no if numbered else -1, bytes(f.payload))

    def _arrival(self, seg, f):
        # A frame from the Multi's side goes over verbatim (its number too); one from the panel
        # side is renumbered.
        self.arrivals[seg] += 1
        self.arrived[seg][self._key(f, seg == "multi")] = self.loop.time()

    def _copy(self, seg, f):
        src = OTHER[seg]
        key = self._key(f, src == "multi")
        t = self.arrived[src].pop(key, None)
        if t is None:
            self.own[seg] += 1
            return
        self.latency_ms[TO[seg]].append((self.loop.time() - t) * 1000.0)


def percentile(values, q):
    """The q-th percentile (an integer 0..100) of values, nearest rank; None for no values."""
    if not values:
        return None
    v = sorted(values)
    rank = -(-q * len(v) // 100)  # ceil(q / 100 * n), in integers
    return v[max(rank, 1) - 1]
