"""``python -m testbed`` runs the testbed command."""

from .cli import main

main()
