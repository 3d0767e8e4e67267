# micropython-lib style manifest (freezing into firmware, or `mip` via micropython-lib tooling).
# The package is this folder itself, hence base_path=".."; the files are named so that this
# manifest is not frozen as a module (package.json lists the same files). Not deployed.
# ruff: noqa: F821
# pyright: reportUndefinedVariable=false
metadata(
    description="VE.Bus protocol stack: frame codec, stream decoder, messages, MK2 framing",
    version="0.1.0",
    license="MIT",
)
package(
    "vebus",
    files=(
        "__init__.py",
        "_core.py",
        "catalogue.py",
        "decoder.py",
        "describe.py",
        "frame.py",
        "mk2.py",
        "peers.py",
    ),
    base_path="..",
)
