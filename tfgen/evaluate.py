"""`python -m tfgen.evaluate`: the same command as `tfgen evaluate` (see `tfgen.cli.evaluate`)."""

import sys

from tfgen.cli.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
