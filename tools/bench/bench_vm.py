"""The VM itself: how much heap an idle firmware import leaves on a Pico-sized heap."""

from tools.bench.vm import run_vm_script

CODE = """
import gc, json
import firmware
gc.collect()
print(json.dumps({"vm_heap_free_after_import_bytes": gc.mem_free()}))
"""


def run():
    return run_vm_script(CODE)
