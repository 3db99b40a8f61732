"""Learning-rate schedules selected by the `lr_schedule` config key."""

import keras

LR_SCHEDULES = ("constant", "cosine")


def learning_rate(config, steps_per_epoch, warmup_steps=0, minimum=0.0):
    """The learning rate (a float or a Keras schedule) for an optimizer of this run.

    Args:
        config: a `TrainConfig` with `learning_rate`, `lr_schedule` and `epochs`.
        steps_per_epoch: optimizer steps per epoch.
        warmup_steps: for `"cosine"`, steps of linear warm-up from 0 to
            `learning_rate` before the decay (counted in the total).
        minimum: for `"cosine"`, the learning rate the decay ends at.

    Returns:
        `config.learning_rate` for `"constant"`; for `"cosine"`, a
        `keras.optimizers.schedules.CosineDecay` from `learning_rate` to `minimum`
        over all `epochs * steps_per_epoch` steps (after the warm-up) (Loshchilov & Hutter 2017,
        https://arxiv.org/abs/1608.03983). The schedule is a function of the
        optimizer's step counter, which checkpoints hold, so resuming continues it.
    """
    if config.lr_schedule == "constant":
        return config.learning_rate
    if config.lr_schedule == "cosine":
        total = config.epochs * steps_per_epoch
        warmup_steps = min(int(warmup_steps), total - 1)
        if warmup_steps <= 0:
            return keras.optimizers.schedules.CosineDecay(
                config.learning_rate, decay_steps=total, alpha=minimum / config.learning_rate
            )
        return keras.optimizers.schedules.CosineDecay(
            0.0,
            decay_steps=total - warmup_steps,
            alpha=minimum / config.learning_rate,
            warmup_target=config.learning_rate,
            warmup_steps=warmup_steps,
        )
    raise ValueError(
        f"unknown lr_schedule {config.lr_schedule!r}; valid: {', '.join(LR_SCHEDULES)}"
    )
