"""`python -m tfgen.fit`: the same command as `tfgen fit` (see `tfgen.cli.fit`)."""

import sys

from tfgen.cli.fit import main

if __name__ == "__main__":
    sys.exit(main())
