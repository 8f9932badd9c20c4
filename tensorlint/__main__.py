"""`python -m tensorlint` runs the CLI."""

import sys

from tensorlint.entry import main

if __name__ == "__main__":
    sys.exit(main())
