"""Ctrl-C and SIGTERM during `model.fit`: finish the step, save it, then stop.

`StopSignals` replaces the SIGINT and SIGTERM handlers while training. The handler
only records the signal: raising from it could interrupt TensorFlow half-way
through an optimizer update, a checkpoint write or a summary flush. The
`tfgen.runs.callbacks.StepBackup` callback reads the record at the next batch end (a
point where the model, optimizer and data position agree), saves that step and
raises `TrainingInterrupted`; the fit CLI prints how to resume and exits with
128 + the signal number (130 for Ctrl-C, 143 for SIGTERM), as a shell would.

A second signal of either kind stops at once with `KeyboardInterrupt` (the last
saved step stays the newest checkpoint).

Under `MultiWorkerMirroredStrategy` saving a step is a collective that every worker
must join at the same step, yet a signal may reach one worker only (a scheduler
preempting one machine) or the workers a step apart. `SignalVote` makes them agree:
every few steps (and at every backup and epoch end) the workers sum their votes in one
small all-reduce, and all of them stop at the same step if any one was signalled.
"""

import signal
import threading

import tensorflow as tf

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(Exception):
    """Training stopped on a signal after saving its state.

    Attributes:
        signum: the signal number (`signal.SIGINT`, `signal.SIGTERM`).
        step: the global step (optimizer updates) that was saved.
        path: the checkpoint that holds it.
    """

    def __init__(self, signum, step, path):
        self.signum, self.step, self.path = signum, step, path
        super().__init__(f"{signal.Signals(signum).name} received: saved step {step} in {path}")

    @property
    def exit_code(self):
        """128 + the signal number, a shell's code for a process stopped by that signal."""
        return 128 + int(self.signum)


class SignalVote:
    """The stop signal that the workers of a multi-worker run agree on, step by step.

    Calling it is a collective: every worker must call it at the same points (the same
    global steps). It returns SIGINT if any worker received SIGINT, else SIGTERM if any
    received SIGTERM, else `None`.

    Args:
        strategy: the run's `tf.distribute.MultiWorkerMirroredStrategy`.
    """

    def __init__(self, strategy):
        self._strategy = strategy

    def __call__(self, signum):
        votes = tf.constant([float(signum == candidate) for candidate in STOP_SIGNALS])
        per_replica = self._strategy.experimental_distribute_values_from_function(
            lambda _: tf.identity(votes)
        )
        totals = self._strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
        for candidate, total in zip(STOP_SIGNALS, totals.numpy()):
            if total > 0:
                return candidate
        return None

    @staticmethod
    def needed(strategy):
        """Whether `strategy` spans several workers (else the local signal is enough)."""
        resolver = getattr(strategy, "cluster_resolver", None)
        if resolver is None or not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return False
        jobs = resolver.cluster_spec().as_dict()
        return sum(len(tasks) for name, tasks in jobs.items() if name in ("chief", "worker")) > 1


class StopSignals:
    """Context manager that turns SIGINT/SIGTERM into a request to stop at the next step.

    Outside the main thread (where Python cannot install handlers) it does nothing.
    A signal whose handler was `SIG_IGN` (e.g. SIGINT of a background job) stays ignored.

    Attributes:
        signum: the first signal received, or `None`.
    """

    def __init__(self):
        self.signum = None
        self._previous = {}

    def _handle(self, signum, frame):
        if self.signum is not None:
            self._restore()
            raise KeyboardInterrupt(f"second {signal.Signals(signum).name}: stopping now")
        self.signum = signum

    def _restore(self):
        for signum, handler in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                previous = signal.getsignal(signum)
                if previous is not signal.SIG_IGN:
                    self._previous[signum] = previous
                    signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info):
        self._restore()
        return False
