"""``python -m oxyde``: the ``oxyde`` command line."""

from oxyde.cli import main

if __name__ == "__main__":
    main()
