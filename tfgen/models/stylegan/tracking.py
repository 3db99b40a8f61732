"""Lists of layers or variables that `tf.train.Checkpoint` also saves.

Keras 3 tracks a list attribute of layers for `.keras` files and `layer.weights`,
but `tf.train.Checkpoint` does not look into it: the list's variables are saved
only if something else (an optimizer) holds them, so an EMA generator's or a
non-trainable variable would be lost. `track_each` gives every item its own
attribute too (as `tfgen.models.lm.gpt` names its blocks `block_<i>`).
"""


def track_each(owner, prefix, items):
    """Sets `owner.<prefix><i> = items[i]` for every item; returns `list(items)`."""
    items = list(items)
    for index, item in enumerate(items):
        setattr(owner, f"{prefix}{index}", item)
    return items
