"""`python -m tfgen.sample`: the same command as `tfgen sample` (see `tfgen.cli.sample`)."""

import sys

from tfgen.cli.sample import main

if __name__ == "__main__":
    sys.exit(main())
