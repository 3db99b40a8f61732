"""The GAN families (`dcgan`, `wgan_gp`, `cgan`): one adversarial step, their networks,
losses and augmentations."""

from tfgen.models.gan.adversarial import AdversarialModel
from tfgen.models.gan.cgan import CGANConfig, ConditionalGAN
from tfgen.models.gan.dcgan import DCGAN, DCGANConfig
from tfgen.models.gan.networks import DCGANDiscriminator, DCGANGenerator
from tfgen.models.gan.per_example_dropout import PerExampleDropout
from tfgen.models.gan.wgan_gp import WGANGP, WGANGPConfig
