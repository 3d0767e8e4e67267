# pytest on CPython: make board modules import with MicroPython's semantics (tools/hostcompat.py).
from tools import hostcompat

hostcompat.install()
