"""Train a model: `python -m tfgen.fit --model vae [--config FILE] [--set key=value ...]`.

Parses the command line, resolves the config, and calls `tfgen.training.train`.
Running the same command again resumes the run from its last checkpoint.

Exit status: 0 done; 1 the loss diverged or a file could not be written; 2 bad
input, or the run directory is in use by another fit; 128 + N stopped by signal N
(130 Ctrl-C, 143 SIGTERM) after saving the current step.
"""

import argparse
import shlex
import sys

from tfgen import config as config_lib


def build_parser(model_names, dataset_names):
    parser = argparse.ArgumentParser(
        prog="python -m tfgen.fit",
        description="Train a generative model. Rerunning the same command resumes the run.",
        epilog=f"models: {', '.join(model_names)}. datasets: {', '.join(dataset_names)}.",
    )
    parser.add_argument("--model", help=f"model family, one of: {', '.join(model_names)}")
    parser.add_argument(
        "--config", help="YAML config file (see configs/); keys not set keep their defaults"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="extend",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override config keys, e.g. --set epochs=5 latent_dim=16 (repeatable)",
    )
    parser.add_argument("--run-dir", help="run directory (default: runs/<model>-<dataset>)")
    parser.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, one line per epoch")
    return parser


def resolve_config(args, model_get):
    """Returns the resolved config for parsed `args`, or raises `ConfigError`/`ValueError`."""
    values = config_lib.load_yaml(args.config) if args.config else {}
    name = args.model or values.get("model")
    if not name:
        raise config_lib.ConfigError(
            "say which model to train: --model NAME, or `model:` in --config"
        )
    if args.model and values.get("model") and values["model"] != args.model:
        raise config_lib.ConfigError(
            f"--model {args.model} contradicts `model: {values['model']}` in {args.config}"
        )
    model_class = model_get(name)
    overrides = config_lib.parse_overrides(args.overrides)
    return config_lib.resolve(
        model_class.config_class, {**values, "model": name.lower()}, overrides
    )


def main(argv=None):
    from tfgen import data, models

    args = build_parser(models.names(), data.names()).parse_args(argv)
    try:
        config = resolve_config(args, models.get)
    except (config_lib.ConfigError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(config_lib.to_yaml(config), end="")
        return 0

    from tfgen import training
    from tfgen.runs import lock as run_lock
    from tfgen.runs.checkpoints import CheckpointWriteError
    from tfgen.runs.interrupts import TrainingInterrupted

    command = _resume_command(argv)
    try:
        result = training.train(config, run_dir=args.run_dir, verbose=2 if args.quiet else "auto")
    except (
        config_lib.ConfigError,
        ValueError,
        data.DatasetUnavailableError,
        run_lock.RunLockedError,
    ) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (training.TrainingDiverged, training.WorkerLost) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except TrainingInterrupted as error:
        print(
            f"\ninterrupted: rerun the same command to resume from global step {error.step} "
            f"(saved in {error.path}):\n  {command}",
            file=sys.stderr,
        )
        return error.exit_code
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: rerun the same command to resume from the last saved checkpoint:"
            f"\n  {command}",
            file=sys.stderr,
        )
        return 130
    except OSError as error:  # CheckpointWriteError, or a run file that could not be written.
        what = "could not write checkpoint" if isinstance(error, CheckpointWriteError) else "on"
        print(
            f"error: {what} {error.filename or '(unnamed file)'}: {error.strerror or error}\n"
            f"The checkpoints written before are intact: fix the cause, then rerun the same "
            f"command to resume:\n  {command}",
            file=sys.stderr,
        )
        return 1
    if result.initial_epoch >= config.epochs:
        print(
            f"{result.run_dir} already finished {config.epochs} epochs; nothing to train "
            f"(raise --set epochs=N to train longer)."
        )
    print(f"run directory: {result.run_dir}")
    print(f"TensorBoard:   tensorboard --logdir {result.run_dir / 'logs'}")
    print(f"samples:       {result.samples}")
    print(f"Keras model:   {result.model_file}")
    return 0


def _resume_command(argv):
    """The command line that resumes this run: the one that started it."""
    if argv is None:
        return shlex.join(
            getattr(sys, "orig_argv", None) or ["python", "-m", "tfgen.fit", *sys.argv[1:]]
        )
    return shlex.join(["python", "-m", "tfgen.fit", *argv])


if __name__ == "__main__":
    sys.exit(main())
