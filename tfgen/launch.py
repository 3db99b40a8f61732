"""`python -m tfgen.launch`: the same command as `tfgen launch` (see `tfgen.cli.launch`)."""

import sys

from tfgen.cli.launch import main

if __name__ == "__main__":
    sys.exit(main())
