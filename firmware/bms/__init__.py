"""The BMS's role on VE.Bus: what it answers and when it talks (role.BmsRole).

Follows the Multi's syncs and frame numbers, talks only in the slot right after a sync with N + 1,
answers the GX's BMS probe as a V2, sends the BMS status and switch frames, reads the Multi's
firmware version; in vebus_mode "listen" (the default) it decodes and transmits nothing.
"""
