"""The BMS's role on VE.Bus: what it answers and when it talks."""
