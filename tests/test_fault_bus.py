"""Fault injection on VE.Bus, through the whole firmware (tests/faultrig.py): garbage on 10 % of
the bytes, total silence, the Multi absent at boot. The bus can never make the outputs allow
what the BTV loop forbids, and the BMS never talks without a sync to follow."""

from faultrig import Rig
from vmtest import fresh_root

from firmware.app_texts import EV_MULTI_DOWN, EV_MULTI_UP
from firmware.core.codes import MODE_OFF, MODE_ON

ON = {"load": "high", "charge": "high", "prealarm": "float"}


def _codes(rig):
    return [code for _boot, code in rig.events()]


def test_garbage_on_ten_percent_of_the_bytes():
    rig = Rig(fresh_root("garbage"), mode="bms")
    rig.multi.noise_ppm = 100_000
    rig.run(10000)
    role = rig.app.role
    assert role.decoder.rejects() > 50  # the garbage reached the decoder ...
    assert role.multi_present  # ... enough syncs still got through
    assert rig.outputs() == ON
    assert rig.app.out.multi_mode == MODE_ON
    sent = rig.multi.frames_from_bms
    assert sent > 0
    # the loop opens under the noise: protection acts, and the command still gets through
    rig.battery.loop_intact = False
    rig.run(33000)
    assert rig.outputs() == {"load": "float", "charge": "float", "prealarm": "float"}
    assert rig.multi.last_command() == MODE_OFF
    assert rig.crashes == 0 and rig.boots == [1]


def test_total_silence_then_the_multi_returns():
    rig = Rig(fresh_root("silence"), mode="bms")
    rig.run(5000)
    assert rig.app.role.multi_present
    rig.multi.present = False  # cable pulled / Multi dead: not one byte
    rig.run(1500)
    assert not rig.app.role.multi_present
    sent = rig.multi.frames_from_bms
    rig.run(20000)
    assert rig.multi.frames_from_bms == sent  # no sync, no slot: nothing sent
    assert rig.outputs() == ON  # the DC side keeps following the loop
    rig.battery.low_cell = True  # and protection still works without the Multi
    rig.run(35000)
    assert rig.outputs()["load"] == "float"
    rig.battery.low_cell = False
    rig.multi.present = True
    rig.run(2000)
    assert rig.app.role.multi_present
    assert rig.multi.frames_from_bms > sent
    codes = _codes(rig)
    assert codes.index(EV_MULTI_DOWN) > codes.index(EV_MULTI_UP)
    assert codes[codes.index(EV_MULTI_DOWN) :].count(EV_MULTI_UP) == 1
    assert rig.crashes == 0


def test_multi_absent_at_boot():
    rig = Rig(fresh_root("absent"), mode="bms", multi=False)  # 30 s before the tick wrap
    assert rig.all_floating()  # at boot, before anything is read
    rig.run(10000)
    assert not rig.app.role.multi_present
    assert rig.multi.frames_from_bms == 0
    assert rig.outputs() == ON  # loads and chargers follow the loop
    rig.multi.present = True  # the Multi is switched on later
    rig.run(3000)
    assert rig.app.role.multi_present
    assert rig.multi.frames_from_bms > 0
    assert rig.app.role.multi_version == 491  # asked for and read (2629491)
    rig.run(1500)
    assert EV_MULTI_UP in _codes(rig)
    assert rig.crashes == 0


def test_listen_mode_never_transmits_whatever_the_bus_says():
    rig = Rig(fresh_root("listen"), mode="listen")
    rig.multi.noise_ppm = 100_000
    rig.run(5000)
    rig.battery.loop_intact = False
    rig.run(35000)
    assert rig.board.ports[0].uart.take_tx() == b""
    assert rig.multi.frames_from_bms == 0
    assert rig.app.out.multi_mode == MODE_OFF  # decided, but not said on a real bus
    assert rig.outputs() == {"load": "float", "charge": "float", "prealarm": "float"}
