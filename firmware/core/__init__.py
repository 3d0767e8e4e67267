"""Sans-IO cell-protection logic: levels and ticks in, decisions out. No machine, no asyncio."""
