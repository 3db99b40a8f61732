"""Samples from a model that TF Serving serves: what `python -m tfgen.sample --server` does.

Image models (VAE, GANs) are sampled through their `sample(num, seed[, label])`
signature, language models through `generate(prompt, max_new_tokens,
temperature, top_k, top_p, seed)`; `model_kind` tells which from the metadata.
Every function takes a client from `tfgen.serving.connect`, REST or gRPC.

Example:

```python
from tfgen.serving import connect
from tfgen.serving.remote_sample import generate_text, sample_images

client = connect("localhost:8501")
images = sample_images(client, "cgan-mnist", num=16, seed=0, label=3)   # (16, 28, 28, 1)
texts = generate_text(client, "gpt-shakespeare", ["ROMEO:"], max_new_tokens=50,
                      temperature=0.8, top_k=0, top_p=0.9, seed=1)
```
"""

import numpy as np

from tfgen.serving.client import invalid_argument

IMAGES, TEXT = "images", "text"
SAMPLE, GENERATE = "sample", "generate"
GENERATE_INPUTS = ("prompt", "max_new_tokens", "temperature", "top_k", "top_p", "seed")


def model_kind(client, name, version=None):
    """`"images"` for a model with a `sample` signature, `"text"` for one whose
    `generate` takes a `prompt`.

    Raises:
        ServingRequestError: if the model has neither (the message lists its
            signatures), or for an unknown model or version.
    """
    signatures = client.metadata(name, version=version)
    if GENERATE in signatures and "prompt" in signatures[GENERATE].inputs:
        return TEXT
    if SAMPLE in signatures:
        return IMAGES
    raise invalid_argument(
        f"has neither a 'sample' signature (image models) nor a text 'generate' signature "
        f"(language models); its signatures are: {', '.join(sorted(signatures))}",
        model=name,
        version=version,
    )


def sample_images(client, name, num, seed, label=None, version=None, truncation_psi=None):
    """`num` images drawn with `seed` by the model's `sample` signature.

    Args:
        client: a `RestClient` or `GrpcClient`.
        name: the model name.
        num: number of images, >= 1.
        seed: the seed; the same seed gives the same images on every server.
        label: class to draw, for a class-conditional model (whose `sample` has a
            `label` input); None draws the classes in turn.
        version: a version number, or None for the latest.
        truncation_psi: ψ of a StyleGAN (whose `sample` has a `truncation_psi`
            input); None means 1 (no truncation).

    Returns:
        A float32 array `[num, height, width, channels]` in [0, 1].

    Raises:
        ServingRequestError: if the model has no `sample` signature (the message
            lists its signatures), `label` is given for a model without labels,
            `truncation_psi` for a model without truncation, or the server rejects the request (e.g. a label out of range).
        ServingError: for other server failures.
    """
    if num < 1:
        raise invalid_argument(f"num must be at least 1, got {num}", model=name, version=version)
    signature = client.signature(name, SAMPLE, version=version)
    inputs = {"num": num, "seed": seed}
    if "label" in signature.inputs:
        inputs["label"] = -1 if label is None else label
    elif label is not None:
        raise invalid_argument(
            f"a label needs a class-conditional model; this one's "
            f"{signature.describe()} takes no label",
            model=name,
            version=version,
            signature=SAMPLE,
        )
    if "truncation_psi" in signature.inputs:
        inputs["truncation_psi"] = np.float32(1.0 if truncation_psi is None else truncation_psi)
    elif truncation_psi is not None:
        raise invalid_argument(
            f"truncation_psi needs a StyleGAN; this model's "
            f"{signature.describe()} takes no truncation_psi",
            model=name,
            version=version,
            signature=SAMPLE,
        )
    return client.predict(name, inputs, signature_name=SAMPLE, version=version)["images"]


def generate_text(
    client, name, prompts, max_new_tokens, temperature, top_k, top_p, seed, version=None
):
    """Continuations of `prompts` by the model's `generate` signature.

    Args:
        client: a `RestClient` or `GrpcClient`.
        name: the model name.
        prompts: a list of prompt strings (each decoded on its own).
        max_new_tokens: tokens generated after each prompt, >= 1.
        temperature: divides the logits; <= 0 decodes greedily.
        top_k: candidates kept; <= 0 keeps every token.
        top_p: probability mass kept; >= 1 keeps every token.
        seed: the seed of the first prompt; prompt `i` uses `seed + i`, so equal
            prompts get different continuations.
        version: a version number, or None for the latest.

    Returns:
        A list of the completions (str, without their prompts).

    Raises:
        ServingRequestError: if the model has no text `generate` signature (the
            message lists its signatures) or the server rejects the request (e.g.
            an empty prompt, or more tokens than the model's context).
        ServingError: for other server failures.
    """
    prompts = [prompts] if isinstance(prompts, (str, bytes)) else list(prompts)
    if not prompts:
        raise invalid_argument("no prompts given", model=name, version=version)
    count = len(prompts)
    signature = client.signature(name, GENERATE, version=version)
    if "prompt" not in signature.inputs:
        raise invalid_argument(
            f"{signature.describe()} is not a text generate signature",
            model=name,
            version=version,
            signature=GENERATE,
        )
    inputs = {
        "prompt": prompts,
        "max_new_tokens": np.full([count], max_new_tokens, np.int32),
        "temperature": np.full([count], temperature, np.float32),
        "top_k": np.full([count], top_k, np.int32),
        "top_p": np.full([count], top_p, np.float32),
        "seed": seed + np.arange(count, dtype=np.int32),
    }
    completions = client.predict(name, inputs, signature_name=GENERATE, version=version)
    return [value.decode("utf-8", errors="replace") for value in completions["completion"]]


__all__ = ["GENERATE", "IMAGES", "SAMPLE", "TEXT", "generate_text", "model_kind", "sample_images"]
