"""Strategy and XLA selection.

Every run happens inside a `tf.distribute.Strategy`: `"default"` is TensorFlow's
default (one device); `"mirrored"` is `tf.distribute.MirroredStrategy` over all
local GPUs, or over `devices` logical CPU devices on a machine without GPUs;
`"multi_worker"` is `tf.distribute.MultiWorkerMirroredStrategy` over the processes
that the `TF_CONFIG` environment variable lists (see `tfgen.launch`), and is chosen
for `"default"` whenever `TF_CONFIG` is set.

Under `multi_worker` every worker runs the same program (collectives such as
all-reduces and checkpoint saves need all of them), but only the chief, worker 0,
writes the run directory: `worker_role` tells the fit loop which one it is.
"""

import dataclasses
import os

import tensorflow as tf

STRATEGIES = ("default", "mirrored", "multi_worker")
TF_CONFIG = "TF_CONFIG"


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
        name: one of `STRATEGIES`. `"default"` means `"multi_worker"` when the
            `TF_CONFIG` environment variable is set.
        devices: for `"mirrored"` on a CPU-only machine, how many logical CPU
            devices to mirror over (default 2). Ignored when GPUs exist, where all
            of them are used.

    Raises:
        ValueError: for an unknown strategy name, or `"multi_worker"` without
            `TF_CONFIG`.
    """
    if name == "default" and os.environ.get(TF_CONFIG):
        name = "multi_worker"
    if name == "multi_worker":
        return make_multi_worker_strategy()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        # Physical, not logical: listing logical devices would initialize TensorFlow with one
        # CPU device, after which the CPU can no longer be split.
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            return tf.distribute.MirroredStrategy()
        # Logical CPU devices share one host: reduce on one device. TF's default for all-CPU
        # devices, ring collectives, can pair up the wrong all-reduces when replicas
        # trace a step with synchronized batch norm.
        return tf.distribute.MirroredStrategy(
            configure_cpu_devices(devices or 2),
            cross_device_ops=tf.distribute.ReductionToOneDevice(),
        )
    raise ValueError(f"unknown strategy {name!r}; valid choices are: {', '.join(STRATEGIES)}")


def make_multi_worker_strategy():
    """`MultiWorkerMirroredStrategy` over the cluster in `TF_CONFIG`.

    Must run before any other TensorFlow op of the process. Without GPUs the
    workers all-reduce with ring collectives over gRPC; with GPUs NCCL is chosen.

    Raises:
        ValueError: if `TF_CONFIG` is not set.
    """
    if not os.environ.get(TF_CONFIG):
        raise ValueError(
            "strategy multi_worker needs the TF_CONFIG environment variable (the cluster and "
            "this process's task); start the workers with `python -m tfgen.launch --workers N "
            "-- python -m tfgen.fit ...`, or set TF_CONFIG on each machine (see docs/training.md)"
        )
    gpus = tf.config.list_physical_devices("GPU")
    implementation = (
        tf.distribute.experimental.CommunicationImplementation.AUTO
        if gpus
        else tf.distribute.experimental.CommunicationImplementation.RING
    )
    return _MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(
            implementation=implementation
        )
    )


class _MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """`MultiWorkerMirroredStrategy` whose `reduce` takes what Keras 3.15's `fit` passes.

    Two calls of Keras 3.15 (`keras/src/backend/tensorflow/trainer.py`) fail with
    TensorFlow 2.21's multi-worker strategy, and work with `MirroredStrategy`:
    `fit` reduces its first (dict) batch before building the model, but the
    multi-worker reduction accepts single values only ("Attempt to convert a value
    ({'image': PerReplica...}) ... to a Tensor"); and every step's logs are reduced
    with `axis=0`, which scalars lack ("Invalid reduction dimension 0 for input with
    0 dimensions"). Here nested values are reduced one by one, and scalars across
    replicas only (what `MirroredStrategy`'s path in Keras does for them).
    """

    def reduce(self, reduce_op, value, axis=None):
        if isinstance(value, (dict, list, tuple)):
            return tf.nest.map_structure(lambda v: self.reduce(reduce_op, v, axis), value)
        if axis is not None and _per_replica_rank(self, value) == 0:
            axis = None
        return super().reduce(reduce_op, value, axis)


def _per_replica_rank(strategy, value):
    """The rank of one replica's part of `value` (`None` if unknown)."""
    return tf.convert_to_tensor(strategy.experimental_local_results(value)[0]).shape.rank


@dataclasses.dataclass(frozen=True)
class WorkerRole:
    """Which process of a (possibly multi-worker) run this one is.

    Attributes:
        index: the worker's index (0 for a single-process run).
    """

    index: int = 0

    @property
    def is_chief(self):
        """Whether this process writes the run directory (worker 0, or the only one)."""
        return self.index == 0


def worker_role(strategy):
    """The `WorkerRole` of this process under `strategy`.

    TensorFlow's convention: the chief is the task of type `chief`, or worker 0 of a
    cluster without one; a process without a cluster is its own chief.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if task_type is None:
        return WorkerRole()
    chiefs = len(resolver.cluster_spec().as_dict().get("chief", ()))
    return WorkerRole(resolver.task_id + (chiefs if task_type == "worker" else 0))


def shard_by_examples(dataset):
    """`dataset` set to be split between workers example by example (`AutoShardPolicy.DATA`).

    Every worker builds the same seeded stream of global batches; each keeps its
    own replicas' share of every batch, so a step sees the global batch whatever the
    worker count. (TensorFlow's default, `AUTO`, would try to split by input files
    first and warn before falling back to this for in-memory data.)
    """
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def resolve_jit_compile(setting, strategy):
    """Decides whether `train_step` is XLA-compiled.

    `"auto"` enables XLA only on GPUs and TPUs. On the CPU, oneDNN kernels were
    measured faster than XLA for tfgen's convolutional nets (see docs/benchmarks.md,
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
