"""The only package that imports `machine`: board profiles, pins, RS485, watchdog."""
