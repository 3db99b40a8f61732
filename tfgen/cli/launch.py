"""Start N local training workers: `python -m tfgen.launch --workers N -- COMMAND ...`.

See `tfgen.distribute.launch` for what the workers get (TF_CONFIG, a private network,
scratch directories) and how they are stopped.
"""

import argparse
import signal
import sys

from tfgen.distribute.launch import Workers


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m tfgen.launch",
        description="Run COMMAND as N local workers of one multi-worker training run "
        "(TF_CONFIG set for each on free 127.0.0.1 ports), in a private network "
        "namespace that only they share.",
        epilog="example: python -m tfgen.launch --workers 2 -- python -m tfgen.fit --model vae",
    )
    parser.add_argument("--workers", type=int, required=True, help="number of worker processes")
    parser.add_argument(
        "--grace-period",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="seconds between SIGTERM and SIGKILL when stopping workers (default 15)",
    )
    parser.add_argument(
        "--host-network",
        action="store_true",
        help="run the workers on this machine's network instead of a private "
        "network namespace with loopback only; TensorFlow's servers then "
        "listen on every interface, and the workers can download data",
    )
    parser.add_argument(
        "command", nargs=argparse.REMAINDER, help="the command every worker runs, after `--`"
    )
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error(
            "give the command the workers run after `--`, e.g. -- python -m tfgen.fit --model vae"
        )
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    received = []

    def on_signal(signum, frame):
        if received:  # The second one: stop at once.
            workers.signal_all(signal.SIGKILL)
        received.append(signum)

    workers = Workers(command, args.workers, args.grace_period, args.host_network)
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            workers.start()
        except OSError as error:  # E.g. the command does not exist.
            workers.stop()
            print(f"error: cannot start {command[0]}: {error}", file=sys.stderr)
            return 127
        return workers.wait(lambda: received[0] if received else None)
    finally:
        workers.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
