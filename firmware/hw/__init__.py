"""The only package that imports `machine`: board profiles, pins, RS485, watchdog.

board       Board: every pin, both VE.Bus ports and the watchdog of one profile
board_pico  Raspberry Pi Pico (RP2040) pin map (data) and UART opening
board_esp32 ESP32 DevKit pin map (data) and UART opening (checked against the ESP32 stubs)
pins        Outputs (ON = driven, OFF = high impedance), polled Inputs, Leds
rs485       Rs485: half-duplex send (DE, txdone), echo discard, non-blocking receive
watchdog    Watchdog: machine.WDT fed only while every task checks in
safe        the crash path's own copy of the safe pin states (no board object needed)
"""
