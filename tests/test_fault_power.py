"""Fault injection on storage, through main.py's build() and the whole firmware
(tests/faultrig.py): the power cut in the middle of an event-log, latched-fault or settings
write. Nothing older is lost; the board comes back safe. Checks outputs, events, Multi command."""

import os

from faultrig import CutRename, CutWrites, Rig, patch
from vmtest import fresh_root

from firmware.core import eventfile, latch
from firmware.core import settings as st
from firmware.core.codes import EV_BOOT, EV_FAULT_LATCHED, EV_LOAD_OFF, MODE_OFF, MODE_ON

ON = {"load": "high", "charge": "high", "prealarm": "float"}
ALL_OFF = {"load": "float", "charge": "float", "prealarm": "float"}


def test_power_cut_mid_event_log_write_loses_nothing_older():
    rig = Rig(fresh_root("cut_events"), mode="bms")
    rig.run(5000)
    rig.battery.loop_intact = False
    rig.run(35000)
    before = rig.events()
    assert (1, EV_LOAD_OFF) in before
    cut = CutWrites()
    patch(eventfile, "open", cut)  # the next write stops halfway: the power goes
    try:
        rig.battery.loop_intact = True  # an event to write
        rig.run(3100)  # written at the log task's step after it, past the sync's slot
    finally:
        patch(eventfile, "open", None)
    assert cut.cuts == 1 and rig.power_cuts == 1
    assert rig.all_floating()
    size = os.stat(rig.root + "events.log")[6]
    assert size % eventfile.RECORD_SIZE  # a torn record is there ...
    rig.run(20000)
    after = rig.events()
    assert after[: len(before)] == before  # ... and every older record still reads
    # The records of the cut write that reached flash whole read too, then the next boot's.
    torn = [r for r in after[len(before) :] if r[0] == 1]
    assert after[len(before) + len(torn)] == (2, EV_BOOT)
    assert rig.outputs() == ON and rig.app.out.multi_mode == MODE_ON


def test_power_cut_mid_latch_write_keeps_the_old_record():
    rig = Rig(fresh_root("cut_latch"), mode="bms")
    rig.run(5000)
    cut = CutRename(os)
    latch.os = cut  # the latched-fault record's rename never happens
    try:
        rig.battery.loop_intact = False
        rig.run(3000)
    finally:
        latch.os = os
    assert cut.cuts == 1 and rig.power_cuts == 1
    # the old record (not latched, boot 1) survived; the boot counter went on from it
    with open(rig.root + "latch.bin", "rb") as f:
        assert latch.decode(f.read())[2] == 2
    assert rig.all_floating()
    rig.run(35000)  # the loop is still open: found again, latched again, everything off
    assert rig.outputs() == ALL_OFF
    assert rig.multi.last_command() == MODE_OFF
    rig.run(1500)
    assert (2, EV_FAULT_LATCHED) in rig.events()


def test_power_cut_mid_settings_write_keeps_the_old_file():
    rig = Rig(fresh_root("cut_settings"), mode="bms", boot=False)
    new = st.Settings()
    new.set("vebus_mode", "listen")
    for cut in (CutWrites(), CutRename(os)):  # torn temporary file; complete but not renamed
        if isinstance(cut, CutWrites):
            patch(st, "open", cut)
        else:
            st.os = cut
        try:
            st.save(new, rig.settings_path())
            raise AssertionError("no power cut")
        except BaseException as e:
            assert type(e).__name__ == "PowerCut"
        finally:
            st.os = os
            if isinstance(cut, CutWrites):
                patch(st, "open", None)
        rig.boot()
        assert rig.settings.vebus_mode == "bms" and rig.settings_errors == []
    st.save(new, rig.settings_path())  # a later save goes through over the stale .tmp
    rig.boot()
    assert rig.settings.vebus_mode == "listen"
