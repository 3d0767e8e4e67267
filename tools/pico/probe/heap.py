# The heap probe of tools/pico: on the emulated Pico only, never deployed to a board. Installed
# as /main.py as tools/pico/probe/main.py is, it adds the least a reading can: no cycle markers,
# no wrapped methods, one function and GPIO 28's soft IRQ (tools/pico/stim.py's HEAP_PIN). Its
# edge: a collection and "PROBE heap free=N alloc=N" on the console. make bench reads
# pico_heap_free_bytes from a run with this probe, so that the figure is what the app leaves
# free on a board with the same image; the timing figures come from the full probe's run.
import gc

import fw_main  # pyright: ignore[reportMissingImports]  (the deployed main.py, renamed)
from machine import Pin


def heap(_):
    gc.collect()
    print("PROBE heap free=%d alloc=%d" % (gc.mem_free(), gc.mem_alloc()))


Pin(28, Pin.IN, Pin.PULL_DOWN).irq(heap, Pin.IRQ_RISING)
fw_main.main()
