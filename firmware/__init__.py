"""Open VE.Bus BMS V2 firmware: the BMS application (core logic, bus role, hardware layer)."""
