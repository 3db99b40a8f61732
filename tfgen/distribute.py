"""Strategy and XLA selection.

Every run happens inside a `tf.distribute.Strategy`: `"default"` is TensorFlow's
default (one device); `"mirrored"` is `tf.distribute.MirroredStrategy` over all
local GPUs, or over `devices` logical CPU devices on a machine without GPUs.
"""

import tensorflow as tf

STRATEGIES = ("default", "mirrored")


def configure_cpu_devices(count):
    """Splits the CPU into `count` logical devices (must run before TF starts).

    Returns:
        The names of the logical CPU devices.

    Raises:
        RuntimeError: if TensorFlow was initialized earlier with fewer devices.
    """
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        # Listing logical devices would initialize the runtime, so configure first.
        if len(tf.config.get_logical_device_configuration(cpu) or [None]) < count:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
            )
    except RuntimeError as error:
        existing = tf.config.list_logical_devices("CPU")
        if len(existing) < count:
            raise RuntimeError(
                f"cannot split the CPU into {count} logical devices: TensorFlow was already "
                f"initialized with {len(existing)}. Choose the strategy before running any "
                f"TensorFlow op (the fit CLI does this for you). ({error})"
            ) from None
    return [d.name for d in tf.config.list_logical_devices("CPU")[:count]]


def make_strategy(name="default", devices=None):
    """Returns the `tf.distribute.Strategy` called `name`.

    Args:
        name: one of `STRATEGIES`.
        devices: for `"mirrored"` on a CPU-only machine, how many logical CPU
            devices to mirror over (default 2). Ignored when GPUs exist, where all
            of them are used.

    Raises:
        ValueError: for an unknown strategy name.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        if gpus:
            return tf.distribute.MirroredStrategy()
        # Logical CPU devices share one host: reduce on one device. TF's default for all-CPU
        # devices, ring collectives, can pair up the wrong all-reduces when replicas
        # trace a step with synchronized batch norm.
        return tf.distribute.MirroredStrategy(
            configure_cpu_devices(devices or 2),
            cross_device_ops=tf.distribute.ReductionToOneDevice())
    raise ValueError(f"unknown strategy {name!r}; valid choices are: {', '.join(STRATEGIES)}")


def resolve_jit_compile(setting, strategy):
    """Decides whether `train_step` is XLA-compiled.

    `"auto"` enables XLA only on GPUs and TPUs. On the CPU, oneDNN kernels were
    measured faster than XLA for tfgen's convolutional nets (see the README,
    "XLA"), and XLA fails with MirroredStrategy over logical CPU devices.

    Args:
        setting: `"auto"`, `"true"` or `"false"` (or a bool).
        strategy: the strategy the model runs under.

    Returns:
        A bool for `model.compile(jit_compile=...)`.
    """
    setting = str(setting).lower()
    if setting in ("true", "false"):
        return setting == "true"
    if setting != "auto":
        raise ValueError(f"jit_compile must be auto, true or false, got {setting!r}")
    accelerators = tf.config.list_logical_devices("GPU") + tf.config.list_logical_devices("TPU")
    return bool(accelerators)
