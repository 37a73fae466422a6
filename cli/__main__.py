"""``python -m cli``: the ``publiek`` command."""

from cli import main

main()
