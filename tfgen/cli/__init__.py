"""The command lines: each parses its arguments, then calls one library function.

`tfgen COMMAND ...` (the console script) and `python -m tfgen.COMMAND ...` run the
same `main`. TensorFlow is imported only after the arguments are parsed.
"""

import importlib
import sys

COMMANDS = {
    "fit": ("tfgen.cli.fit", "train or resume a model"),
    "sample": ("tfgen.cli.sample", "images, or text from a prompt, from a run or a server"),
    "evaluate": ("tfgen.cli.evaluate", "FID/KID/IS/PR/DC, NLL bounds, perplexity of a run"),
    "export": ("tfgen.cli.export", "SavedModel in TF Serving's layout, plus TFLite"),
    "projection": ("tfgen.cli.projection", "find StyleGAN's w for an image"),
    "launch": ("tfgen.cli.launch", "start N local workers of one multi-worker run"),
    "data": ("tfgen.cli.data", "fetch datasets into the data cache"),
}


def main(argv=None):
    """`tfgen COMMAND [ARGS...]`: runs `COMMAND`'s `main(ARGS)`; returns its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        width = max(map(len, COMMANDS))
        lines = [f"  {name:<{width}}  {what}" for name, (_, what) in COMMANDS.items()]
        print(
            "usage: tfgen COMMAND [ARGS...]   (tfgen COMMAND --help for its options)\n\n"
            "commands:\n" + "\n".join(lines)
        )
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(
            f"error: unknown command {name!r}; valid commands: {', '.join(COMMANDS)}",
            file=sys.stderr,
        )
        return 2
    return importlib.import_module(COMMANDS[name][0]).main(rest)
