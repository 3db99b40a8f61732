"""`python -m tfgen.export`: the same command as `tfgen export` (see `tfgen.cli.export`)."""

import sys

from tfgen.cli.export import main

if __name__ == "__main__":
    sys.exit(main())
