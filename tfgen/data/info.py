"""The record every dataset source returns beside its `tf.data.Dataset`."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What models, callbacks and metrics need to know about a dataset.

    Downstream code reads these fields instead of re-deriving them.

    Args:
        name: the name the dataset was loaded by, e.g. `"binarized_mnist"`.
        modality: `"image"` or `"text"`.
        shape: shape of one example's `"image"` tensor, `(height, width, channels)`;
            `None` for text, whose examples are `{"text": tf.string}` documents.
        value_range: range of the pixel values yielded, `(0.0, 1.0)` for images;
            `None` for text.
        num_classes: number of label classes, or `None` if the dataset has no `"label"`.
        num_examples: examples per split, e.g. `{"train": 60000, "test": 10000}`;
            for text, documents per split.
        binarized: if True, pixels are intensities that the training pipeline turns
            into {0, 1} draws, freshly for every epoch (dynamic binarization).
        splits: where each split's examples come from, e.g. `{"train": "train",
            "test": "test"}`, or `{"train": "train[:90%]", "test": "train[90%:]"}`
            when the test split is a held-out slice. Reports read it to say what a
            model was evaluated on.
    """

    name: str
    modality: str
    shape: tuple | None
    value_range: tuple | None = (0.0, 1.0)
    num_classes: int | None = None
    num_examples: dict = dataclasses.field(default_factory=dict)
    binarized: bool = False
    splits: dict = dataclasses.field(default_factory=dict)
