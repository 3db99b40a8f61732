"""`python -m tfgen.projection`: the same command as `tfgen projection` (see `tfgen.cli.projection`)."""

import sys

from tfgen.cli.projection import main

if __name__ == "__main__":
    sys.exit(main())
