"""`python -m services` is the same as the `countersign` console script."""

from services.cli import main

main()
