"""The run configuration of `stylegan` (see configs/stylegan_mnist.yaml)."""

import dataclasses

from tfgen.config import ConfigError, TrainConfig, choices
from tfgen.data.image_size import IMAGE_FITS
from tfgen.models.gan.augment import parse_policy
from tfgen.models.stylegan.generator import MAX_RESOLUTION, MIN_RESOLUTION, VALID_RESOLUTIONS


@dataclasses.dataclass
class StyleGANConfig(TrainConfig):
    """`TrainConfig` plus StyleGAN2's keys.

    Args:
        resolution: side of the square images, a power of two from 8 to 256; the
            data pipeline fits every image to it (`image_fit`).
        image_fit: `pad` (centre on a black canvas, never scales) or `resize` (bilinear).
        beta_1: Adam's first-moment decay, both optimizers (0 in StyleGAN2).
        beta_2: Adam's second-moment decay (0.99 in StyleGAN2).
        latent_dim: size of z.
        w_dim: size of w.
        mapping_layers: depth of the mapping network: 2, as in the official StyleGAN2-ADA
            CIFAR-10 config (`map=2`); the paper's 8 (the `StyleGAN` class default)
            collapsed to one digit within 300 steps on MNIST at this size (measured),
            2 did not.
        channel_base: channels at resolution r are `min(channel_base // r, channel_max)`.
        channel_max: the cap on channels.
        num_classes: class-conditional with this many labels (must match the dataset);
            0 = unconditional.
        mbstd_group_size: examples per minibatch-standard-deviation group.
        r1_gamma: R1 weight γ (0 = off): 1, above the official CIFAR-10 value 0.01, which
            left this narrow D winning (Fashion-MNIST classifier FID after 600 steps: 130 at
            γ = 1, 138 at 0.1 and 0.01; measured, README).
        r1_interval: discriminator steps between (lazy) R1 penalties.
        pl_weight: path-length penalty weight (0 = off): the paper's 2. StyleGAN2-ADA's
            CIFAR-10 config turns it off; at this size that did not change the classifier
            FID at equal steps (138.0 with, 137.7 without, measured) and saves a double
            backward pass through G every `pl_interval` steps.
        pl_interval: generator steps between (lazy) path-length penalties.
        style_mixing: probability of style-mixing regularisation per example: the
            paper's 0.9 (0 = off, as in StyleGAN2-ADA's CIFAR-10 config).
        ema_decay: EMA decay of the sampling generator (0 = off).
        augment: DiffAugment policy (empty = off).
    """

    model: str = "stylegan"
    dataset: str = "mnist"
    batch_size: int = 32
    epochs: int = 10
    steps_per_epoch: int | None = 200
    validation_steps: int | None = 2
    learning_rate: float = 0.0025
    lr_schedule: str = dataclasses.field(default="constant", metadata=choices("constant", "cosine"))
    resolution: int = 32
    image_fit: str = dataclasses.field(default="pad", metadata=choices(*IMAGE_FITS))
    beta_1: float = 0.0
    beta_2: float = 0.99
    latent_dim: int = 128
    w_dim: int = 128
    mapping_layers: int = 2
    channel_base: int = 1024
    channel_max: int = 64
    num_classes: int = 0
    mbstd_group_size: int = 4
    r1_gamma: float = 1.0
    r1_interval: int = 16
    pl_weight: float = 2.0
    pl_interval: int = 4
    style_mixing: float = 0.9
    ema_decay: float = 0.998
    augment: str = ""

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
