"""Sans-IO cell-protection logic: levels and ticks in, decisions out. No machine, no asyncio.

Modules (each one job; read the module docstring for its API):
    settings    one table (SPEC) of every setting: default, type, range; validate; JSON load/save
    settings_help  each setting's help text (docs and CLIs; not imported on the board)
    codes       the shared numbers: output levels, Multi modes (VE.Bus 0x3F values), reason
                bits, states, event codes, LED patterns, change bits (not imported on the
                board: each module keeps private copies, tests/host/test_consts.py checks them)
    texts       their names and the event texts in the manual's words (not imported on the board)
    debounce    Debounce: one input's level once stable for debounce_ms
    btv_wire    the replaceable electrical meaning of the BTV inputs (which input, polarity)
    btv         BtvDecoder: raw levels + ticks -> Condition (debounce, stale, pulsed self-test)
    remote      Remote: remote on/off terminal (L-H bridge, L low, H high) -> on/off
    mains       Mains: mains detector input -> AC present
    protection  Protection(settings).step(now_ms, inputs) -> outputs (preallocated, no allocation)
    signals     Inputs / Outputs of the protection (CH_* change bits), Held (min-hold output)
    leds        LED patterns of the manual (5.2) and each LED's level at a tick
    events      EventLog: RAM ring of (tick, code, reason, arg); text() (from texts.py)
    eventfile   flash format: append-only 16-byte records with a CRC each; EventFile rotation
    eventread   reading those records back (host tools, tests; not imported on the board)
    latch       LatchStore: the latched loop fault and the boot counter, kept across reboot
    crc         CRC-16/CCITT

One tick of the board, in order:
    lvl = btv.drive(now); <set the self-test output>; btv.sample(now, <input levels>)
    remote.sample(now, l, h, bridged); mains.sample(now, level)
    inp = prot.inputs; inp.btv = btv.condition(now) (or copy_from); inp.remote_on = remote.on(now)
    inp.mains = mains.present(now); <Multi / GX / DMC fields from the bus side>
    out = prot.step(now, inp); <drive pins from out>; if out.changed & CH_LATCH: latch.save(...)
    log.drain(eventfile.append)   # outside the hot path
"""
