"""The run configuration of `stylegan`: every key, its one default and its reason.

The defaults are the recipe `python -m tfgen.fit --model stylegan` trains (MNIST
padded to 32x32, networks narrowed for a 2-core CPU); `PRESETS` names the
published configurations the defaults depart from.
"""

import dataclasses

from tfgen.config import ConfigError, TrainConfig, choices, param
from tfgen.data.image_size import IMAGE_FITS
from tfgen.models.gan.augment import parse_policy
from tfgen.models.stylegan.generator import MAX_RESOLUTION, MIN_RESOLUTION, VALID_RESOLUTIONS


@dataclasses.dataclass
class StyleGANConfig(TrainConfig):
    """`TrainConfig` plus StyleGAN2's keys; the `param` fields are `StyleGAN`'s arguments.

    Args:
        dataset: MNIST digits (also `fashion_mnist`, `folder:PATH`, `tfds:NAME`).
        batch_size: 32, the batch of StyleGAN2's config F (`PRESETS["paper"]`; the
            CIFAR-10 config uses 64), and small enough for 2 cores.
        epochs: 10 epochs of `steps_per_epoch` steps: 64,000 images shown.
        steps_per_epoch: 200: short epochs, so the sample grids are written often.
        validation_steps: D and G losses on 2 test batches (without the regularisers).
        learning_rate: 0.0025, StyleGAN2-ADA's rate for both networks (equalized
            learning rates make it safe).
        lr_schedule: constant, as GANs are usually trained.
        resolution: side of the square images, a power of two from 8 to 256; the
            data pipeline fits every image to it (`image_fit`). 32: MNIST's 28x28
            digits padded.
        image_fit: `pad` (centre on a black canvas, never scales; exact for MNIST) or
            `resize` (bilinear, for larger images).
        beta_1: Adam's first-moment decay, both optimizers: 0, StyleGAN2's (no momentum).
        beta_2: Adam's second-moment decay: 0.99, StyleGAN2's.
        latent_dim: size of z: 128 (the paper's 512 is for 1024x1024 faces).
        w_dim: size of w: 128 (the paper's 512 is for 1024x1024 faces).
        mapping_layers: depth of the mapping network: 2, as StyleGAN2-ADA's CIFAR-10
            config; the paper uses 8, which collapsed to one digit at this size
            (docs/stylegan.md).
        channel_base: channels at resolution r are `min(channel_base // r, channel_max)`:
            1024 gives 64 at 4-16 and 32 at 32x32 (the paper uses 32768).
        channel_max: the cap on channels: 64 keeps a step fast on 2 cores (the paper
            uses 512).
        num_classes: class-conditional with this many labels (must match the dataset);
            0 = unconditional.
        mbstd_group_size: examples per minibatch-standard-deviation group: 4, the
            paper's (the CIFAR-10 config uses 32).
        r1_gamma: R1 weight γ (0 = off): 1, above the CIFAR-10 config's 0.01, which let
            this narrow D win (docs/stylegan.md); the paper uses 10 for FFHQ.
        r1_interval: discriminator steps between (lazy) R1 penalties, weighted by the
            interval: the paper's 16 (appendix B).
        pl_weight: path-length penalty weight (0 = off): the paper's 2 (the CIFAR-10
            config turns it off, for faster steps).
        pl_interval: generator steps between (lazy) path-length penalties: the paper's 4.
        style_mixing: probability of style-mixing regularisation per example: the
            paper's 0.9 (0 = off, as the CIFAR-10 config).
        ema_decay: EMA decay of the sampling generator (0 = off): 0.998 is a half-life
            of about 10k images at batch 32, the official `ema_kimg=10`.
        augment: DiffAugment policy (empty = off: 60,000 images are plenty).
    """

    model: str = "stylegan"
    dataset: str = "mnist"
    batch_size: int = 32
    epochs: int = 10
    steps_per_epoch: int | None = 200
    validation_steps: int | None = 2
    learning_rate: float = 0.0025
    lr_schedule: str = "constant"
    resolution: int = 32
    image_fit: str = dataclasses.field(default="pad", metadata=choices(*IMAGE_FITS))
    beta_1: float = 0.0
    beta_2: float = 0.99
    latent_dim: int = param(128)
    w_dim: int = param(128)
    mapping_layers: int = param(2)
    channel_base: int = param(1024)
    channel_max: int = param(64)
    num_classes: int = param(0)
    mbstd_group_size: int = param(4)
    r1_gamma: float = param(1.0)
    r1_interval: int = param(16)
    pl_weight: float = param(2.0)
    pl_interval: int = param(4)
    style_mixing: float = param(0.9)
    ema_decay: float = param(0.998)
    augment: str = param("")

    def __post_init__(self):
        super().__post_init__()
        if self.resolution not in VALID_RESOLUTIONS:
            raise ConfigError(
                f"resolution: must be a power of two from {MIN_RESOLUTION} to "
                f"{MAX_RESOLUTION} ({', '.join(map(str, VALID_RESOLUTIONS))}), "
                f"got {self.resolution}"
            )
        for name in (
            "latent_dim",
            "w_dim",
            "mapping_layers",
            "channel_base",
            "channel_max",
            "mbstd_group_size",
            "r1_interval",
            "pl_interval",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be a positive integer, got {getattr(self, name)}")
        if self.num_classes < 0 or self.num_classes == 1:
            raise ConfigError(
                f"num_classes: 0 (unconditional) or at least 2, got {self.num_classes}"
            )
        for name, low, high in (("ema_decay", 0, 1), ("beta_1", 0, 1), ("beta_2", 0, 1)):
            if not low <= getattr(self, name) < high:
                raise ConfigError(f"{name}: must be in [{low}, {high}), got {getattr(self, name)}")
        if not 0 <= self.style_mixing <= 1:
            raise ConfigError(f"style_mixing: a probability in [0, 1], got {self.style_mixing}")
        for name in ("r1_gamma", "pl_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: must be >= 0, got {getattr(self, name)}")
        try:
            parse_policy(self.augment)
        except ValueError as error:
            raise ConfigError(f"augment: {error}") from None


PRESETS = {
    # StyleGAN2's config F (Karras et al. 2020), as StyleGAN2-ADA's `--cfg=stylegan2`.
    "paper": {
        "learning_rate": 0.002,
        "latent_dim": 512,
        "w_dim": 512,
        "mapping_layers": 8,
        "channel_base": 32768,
        "channel_max": 512,
        "r1_gamma": 10.0,
    },
    # StyleGAN2-ADA's `--cfg=cifar` (CIFAR-10 at 32x32; ema_kimg=500 at batch 64).
    "ada_cifar10": {
        "batch_size": 64,
        "latent_dim": 512,
        "w_dim": 512,
        "channel_base": 32768,
        "channel_max": 512,
        "mbstd_group_size": 32,
        "r1_gamma": 0.01,
        "pl_weight": 0.0,
        "style_mixing": 0.0,
        "ema_decay": 0.99991,
    },
}
"""Published configurations, as the keys where they differ from the defaults.

`tfgen.config.resolve(StyleGANConfig, PRESETS["paper"])` gives a run config with them.
"""
