"""`python -m tfgen.data`: the same command as `tfgen data` (see `tfgen.cli.data`)."""

import sys

from tfgen.cli.data import main

if __name__ == "__main__":
    sys.exit(main())
