"""Mixed precision for one model's construction, without changing Keras' global policy for good."""

import contextlib

import keras

# float16 would also need loss scaling in every custom train_step; bfloat16 has float32's range.
PRECISIONS = ("float32", "mixed_bfloat16")


@contextlib.contextmanager
def dtype_policy(name):
    """Builds layers created inside the block with the Keras dtype policy `name`.

    Variables stay float32; `mixed_bfloat16` computes in bfloat16. The
    previous global policy is restored on exit.

    Args:
        name: one of `PRECISIONS`.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    if name not in PRECISIONS:
        raise ValueError(f"unknown precision {name!r}; valid choices are: {', '.join(PRECISIONS)}")
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
