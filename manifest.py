# Freeze the firmware into a MicroPython image (micropython-lib manifest layout). In a MicroPython
# checkout:
#     make -C ports/rp2 BOARD=RPI_PICO FROZEN_MANIFEST=/path/to/open-vebus-bms/manifest.py
#     make -C ports/esp32 BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/open-vebus-bms/manifest.py
# The image holds what tools/deploy.py copies (boot.py, main.py, firmware/, lib/vebus) as frozen
# bytecode; the board then needs only its /settings.json. Not deployed.
# ruff: noqa: F821
# pyright: reportUndefinedVariable=false

# FROZEN_MANIFEST replaces the port's manifest: keep its frozen modules (asyncio, _boot, ...)
include("$(PORT_DIR)/boards/manifest.py")
module("boot.py")
module("main.py")
module("startup.py")
package("firmware")
add_library("open-vebus-bms", "lib")
require("vebus", library="open-vebus-bms")
