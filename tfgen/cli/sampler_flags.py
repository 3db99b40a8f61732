"""`tfgen.sample`'s sampler flags: the sampler they build, and the check that an image
model got none of them."""

import inspect

# Command-line flag -> the sampler constructor argument it sets.
SAMPLER_FLAGS = {
    "temperature": "temperature",
    "top_k": "k",
    "top_p": "p",
    "beam_width": "num_beams",
    "length_penalty": "length_penalty",
}


def make_sampler(args):
    """The sampler `args` ask for; a ValueError names a flag the sampler does not take."""
    from tfgen import samplers

    cls = samplers.SAMPLERS.get(args.sampler.replace("-", "_"))
    if cls is None:
        raise ValueError(
            f"unknown sampler {args.sampler!r}; valid samplers are: {', '.join(samplers.names())}"
        )
    accepted = inspect.signature(cls.__init__).parameters
    kwargs = {}
    for flag, parameter in SAMPLER_FLAGS.items():
        value = getattr(args, flag)
        if value is None:
            continue
        if parameter not in accepted:
            valid = [f"--{f.replace('_', '-')}" for f, p in SAMPLER_FLAGS.items() if p in accepted]
            raise ValueError(
                f"--{flag.replace('_', '-')} does not apply to sampler "
                f"{cls.name!r}; it takes: {', '.join(valid) or 'no options'}"
            )
        kwargs[parameter] = value
    return samplers.get(cls.name, **kwargs)


def check_no_text_flags(args, what):
    """A ValueError naming the text-only flags set in `args`, for an image model."""
    text_flags = [
        f"--{f.replace('_', '-')}"
        for f in ("prompt", *SAMPLER_FLAGS)
        if getattr(args, f) is not None
    ]
    if text_flags:
        raise ValueError(f"{', '.join(text_flags)} apply to language models; {what}")
