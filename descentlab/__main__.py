"""``python -m descentlab`` — the same as the ``descentlab`` command."""

from descentlab.cli import main

main()
