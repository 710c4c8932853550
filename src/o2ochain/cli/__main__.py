"""``python -m o2ochain.cli``: the same command line as ``o2ochain``."""

from o2ochain.cli import main

main()
