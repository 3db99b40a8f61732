"""Learning-rate schedules selected by the `lr_schedule` config key."""

import keras

LR_SCHEDULES = ("constant", "cosine")


def learning_rate(config, steps_per_epoch):
    """The learning rate (a float or a Keras schedule) for an optimizer of this run.

    Args:
        config: a `TrainConfig` with `learning_rate`, `lr_schedule` and `epochs`.
        steps_per_epoch: optimizer steps per epoch.

    Returns:
        `config.learning_rate` for `"constant"`; for `"cosine"`, a
        `keras.optimizers.schedules.CosineDecay` from `learning_rate` to 0 over all
        `epochs * steps_per_epoch` steps (Loshchilov & Hutter 2017,
        https://arxiv.org/abs/1608.03983). The schedule is a function of the
        optimizer's step counter, which checkpoints hold, so resuming continues it.
    """
    if config.lr_schedule == "constant":
        return config.learning_rate
    if config.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=config.epochs * steps_per_epoch
        )
    raise ValueError(f"unknown lr_schedule {config.lr_schedule!r}; valid: {', '.join(LR_SCHEDULES)}")
