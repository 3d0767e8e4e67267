"""VE.Bus error 7 through the whole firmware (tests/faultrig.py, "bms" mode).

The manual (../shared/vebus.md "What the seed manual fixes about the Multi's side"): "VE.Bus
firmware below xxxx415: BMS raises VE.Bus error 15. 415..488: needs the 'VE.Bus BMS' or 'ESS'
assistant. 489 and above: works natively." Whether the assistant is installed cannot be read on
the bus (docs/protocol.md, "Assistants"): the BMS tells the user to check it and guesses nothing;
a Multi without it shows error 7 itself.
"""

from faultrig import Rig
from vmtest import fresh_root

from firmware.app_texts import EV_ASSISTANT_NEEDED, EVENT_TEXTS
from firmware.core.codes import MODE_ON


def _after_version_read(name, version):
    rig = Rig(fresh_root(name), mode="bms")
    rig.multi.version = version
    rig.run(6000)
    rig.run(1500)  # flushed to flash
    return rig


def test_firmware_415_to_488_the_user_is_told_to_check_the_assistant():
    rig = _after_version_read("assistant_450", 2629450)
    assert rig.app.role.multi_version == 450
    assert EV_ASSISTANT_NEEDED in [code for _b, code in rig.events()]
    assert EVENT_TEXTS[EV_ASSISTANT_NEEDED] % 450 == (
        "Multi firmware 450 needs the VE.Bus BMS or ESS assistant: not readable on the bus,"
        " check it (without it the Multi shows VE.Bus error 7)"
    )
    assert rig.app.out.error == 0 and rig.app.out.multi_mode == MODE_ON  # nothing guessed
    assert rig.outputs()["load"] == "high"


def test_firmware_489_works_natively_nothing_to_check():
    rig = _after_version_read("assistant_491", 2629491)
    assert rig.app.role.multi_version == 491
    assert EV_ASSISTANT_NEEDED not in [code for _b, code in rig.events()]
