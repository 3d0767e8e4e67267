"""BTV loop decoding: raw input levels + ticks -> a debounced, stale-checked battery Condition.

    dec = BtvDecoder(settings)          # wire=Wire(settings) by default (btv_wire.py)
    lvl = dec.drive(now)                # level for the self-test output (0 when the test is off)
    dec.sample(now, levels)             # levels: int, bit n = raw level of input n; True when
                                        # a debounced level changed
    dec.edge(at, levels)                # levels read at an edge (pin IRQ): the debounce runs
                                        # from `at`, ends at dec.settle_at
    cond = dec.condition(now)           # the same preallocated Condition object every call

Condition fields: loop_ok, discharge_ok, charge_ok, prealarm (bools), reasons (codes.R_* bits).
Fail safe: an input never sampled or not yet stable for `debounce_ms` (R_UNKNOWN: start-up),
or one whose samples stopped for `stale_ms` (R_STALE: a loop fault that latches) makes the
loop not OK: nothing allowed.

Optional pulsed self-test (`btv_selftest`): every `btv_selftest_period_ms` the decoder asks for a
pulse (drive() returns 1; the board's test output then breaks the loop). The first sample taken at
least `btv_selftest_settle_ms` into the pulse must show every tested input "not OK"; it ends the
pulse, so the pulse lasts one input poll whatever the poll period (50 ms, never longer than
debounce_ms). Samples during the pulse and for `btv_selftest_recover_ms` after it stay out of the
debouncers. Two failed pulses in a row, or no passed test for 3 periods + stale_ms, give R_STUCK
(a stuck input cannot fake "OK"). No allocation per call.
"""

from time import ticks_add, ticks_diff

from micropython import const

from firmware.core.btv_wire import Wire
from firmware.core.debounce import Debounce

# firmware/core/codes.py's numbers (tests/host/test_consts.py keeps the copies equal)
_R_STALE = const(0x0080)
_R_STUCK = const(0x0040)
_R_UNKNOWN = const(0x0100)

N_INPUTS = 8
_IDLE = 0
_PULSE = 1
_RECOVER = 2
STUCK_AFTER = 2  # failed pulses in a row


class Condition:
    """What the BTV loop says now. Filled in place by BtvDecoder.condition()."""

    def __init__(self):
        self.loop_ok = False
        self.discharge_ok = False
        self.charge_ok = False
        self.prealarm = False
        self.reasons = _R_UNKNOWN


class BtvDecoder:
    def __init__(self, settings, wire=None):
        s = settings
        self.wire = wire if wire is not None else Wire(s)
        self.cond = Condition()
        self.stale_ms = s.stale_ms
        self._debounce_ms = s.debounce_ms
        self._edge_levels = -1  # levels read at the last edge(), not yet fed; -1 none
        self._edge_at = 0
        self.settle_at = 0  # tick at which the debounce of the last edge's levels ends
        self.deb = [Debounce(s.debounce_ms) for _ in range(N_INPUTS)]
        self._last = [0] * N_INPUTS  # tick of the last partial sample of each input (_part)
        self._part = 0  # bit n: input n was sampled alone after the last full sample (_all_at)
        self._fresh = 0  # bit n: input n has a sample younger than stale_ms
        self._stale = 0  # bit n: input n had samples, then none for stale_ms
        self._used = self.wire.used_mask
        self._all_at = 0  # tick of the last sample of every input
        # The debounced levels as of the last sample (bit n: input n), the inputs with no
        # debounced level yet, and those whose last sample differs from their debounced level
        # (a candidate pending): a sample feeds only the debouncers it can move (the board
        # samples every input each poll, and the levels rarely change), and condition()
        # decodes them without a per-input loop.
        self._deb = 0
        self._unk = 0xFF
        self._pend = 0
        # What self.cond was filled from: the levels (>= 0), or -reason after a fault (< 0).
        # Equal values, equal condition: the app tells news from it without comparing fields.
        self.filled_from = -1
        # self-test
        self.selftest = s.btv_selftest
        self._period = s.btv_selftest_period_ms
        self._recover_ms = s.btv_selftest_recover_ms
        self._no_pass_ms = 3 * self._period + s.stale_ms
        self._settle = s.btv_selftest_settle_ms
        self._test_mask = self.wire.test_mask
        self._phase = _IDLE
        self._t_phase = 0
        self._checked = False
        self._started = False
        self._pass_init = False
        self._t_pass = 0
        self._pass_ripe = False  # True once the last pass is older than 3 periods
        self.test_failures = 0  # failed pulses in a row
        self.tests_passed = 0
        self.tests_failed = 0

    # --- self-test schedule -------------------------------------------------------------------
    def drive(self, now):
        """Level for the self-test output now (1 = pulse: break the loop). Always 0 if disabled."""
        if not self.selftest:
            return 0
        if not self._started:
            self._started = True
            self._t_phase = ticks_add(now, self._period)
            return 0
        ph = self._phase
        if ph == _IDLE:
            if ticks_diff(now, self._t_phase) >= 0:
                self._phase = _PULSE
                self._t_phase = now
                self._checked = False
                return 1
            return 0
        if ph == _PULSE:
            return 1  # until a sample checks it (sample() moves on to _RECOVER)
        if ticks_diff(now, self._t_phase) >= self._recover_ms:
            self._phase = _IDLE
            self._t_phase = ticks_add(now, self._period)
        return 0

    def _fail(self):
        self.test_failures += 1
        self.tests_failed += 1

    def _check(self, now, levels):
        ok = (levels ^ self.wire.ok_low) & self._test_mask  # bits of inputs still saying OK
        if ok:
            self._fail()
        else:
            self.test_failures = 0
            self.tests_passed += 1
            self._t_pass = now
            self._pass_ripe = False
        self._checked = True
        self._phase = _RECOVER  # the pulse ends: the board lets go of the loop at the next drive()
        self._t_phase = now

    # --- samples --------------------------------------------------------------------------------
    def edge(self, at, levels):
        """Levels read at an input's edge (from a pin IRQ: nothing allocated): the next
        sample() feeds them first, so that level's debounce runs from the edge's tick, and
        settle_at says when it ends (wake then, not at the next poll)."""
        self._edge_at = at
        self._edge_levels = levels
        self.settle_at = ticks_add(at, self._debounce_ms)

    def sample(self, now, levels, mask=0xFF):
        """Feed raw levels (bit n = input n) read at `now`; `mask` marks the inputs just read.
        True when a debounced level changed (the condition may have changed with it)."""
        lv = self._edge_levels
        if lv < 0:
            return self._feed(now, levels, mask)
        self._edge_levels = -1
        moved = self._feed(self._edge_at, lv, 0xFF)
        return self._feed(now, levels, mask) or moved

    def _feed(self, now, levels, mask):
        ph = self._phase
        if ph == _PULSE:
            if not self._checked and ticks_diff(now, self._t_phase) >= self._settle:
                self._check(now, levels)
        if mask == 0xFF:
            self._all_at = now
            self._part = 0
        else:
            last = self._last
            for n in range(N_INPUTS):
                if mask >> n & 1:
                    last[n] = now
            self._part |= mask
        self._fresh |= mask
        self._stale &= ~mask
        if ph != _IDLE:  # samples in a test pulse and its recovery stay out of the debouncers
            return False
        # A debouncer settled on the level read would not change: only the others are fed.
        todo = ((levels ^ self._deb) | self._unk | self._pend) & mask
        moved = False
        deb = self.deb
        dl = self._deb
        unk = self._unk
        pend = self._pend
        n = 0
        while todo:
            if todo & 1:
                bit = 1 << n
                d = deb[n]
                lv = (levels >> n) & 1
                if d.feed(now, lv):
                    moved = True
                got = d.level
                if got == lv:
                    pend &= ~bit
                else:
                    pend |= bit
                if got < 0:
                    unk |= bit
                else:
                    unk &= ~bit
                    dl = dl | bit if got else dl & ~bit
            todo >>= 1
            n += 1
        self._deb = dl
        self._unk = unk
        self._pend = pend
        return moved

    def condition(self, now):
        """Decode the debounced levels into self.cond (also returned)."""
        if self.selftest and not self._pass_init:
            self._pass_init = True  # the no-pass timer runs from the first call
            self._t_pass = now
        used = self._used
        if ticks_diff(now, self._all_at) <= self.stale_ms:  # every input fresh
            return self._decode(now, self._deb & used, self._unk & used != 0)
        levels = 0
        unknown = False
        deb = self.deb
        last = self._last
        for n in range(N_INPUTS):
            bit = 1 << n
            if not used & bit:
                continue
            at = last[n] if self._part & bit else self._all_at
            if self._fresh & bit and ticks_diff(now, at) > self.stale_ms:
                self._fresh &= ~bit
                self._stale |= bit
                deb[n].reset()  # an old level is not trusted when samples come back
                self._unk |= bit
            lv = deb[n].level
            if lv < 0:
                unknown = True
            elif lv:
                levels |= bit
        return self._decode(now, levels, unknown)

    def _decode(self, now, levels, unknown):
        c = self.cond
        used = self._used
        if used & self._stale:
            return self._fault(_R_STALE)
        if unknown or used & ~self._fresh:
            return self._fault(_R_UNKNOWN)
        if self.selftest:
            if self.test_failures >= STUCK_AFTER:
                return self._fault(_R_STUCK)
            if not self._pass_ripe:
                if ticks_diff(now, self._t_pass) > self._no_pass_ms:
                    self._pass_ripe = True
            if self._pass_ripe:
                return self._fault(_R_STUCK)
        if levels != self.filled_from:  # the same levels decode to the same condition
            self.filled_from = levels
            self.wire.decode(levels, c)
        return c

    def _fault(self, reason):
        self.filled_from = -reason
        c = self.cond
        c.loop_ok = False
        c.discharge_ok = False
        c.charge_ok = False
        c.prealarm = False
        c.reasons = reason
        return c
