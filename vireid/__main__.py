"""`python -m vireid` is the same program as the `vireid` console script (torchrun uses this form)."""

from vireid.cli.app import main

if __name__ == "__main__":
    main()
