# micropython-lib style manifest (freezing into firmware, or `mip` via micropython-lib tooling).
# The package is this folder itself, hence base_path="..". Not deployed, not imported.
# ruff: noqa: F821
# pyright: reportUndefinedVariable=false
metadata(
    description="VE.Bus protocol stack: frame codec, stream decoder, messages, MK2 framing",
    version="0.1.0",
    license="MIT",
)
package("vebus", base_path="..")
