"""Bare training steps: what a user writes without tfgen, for `step_overhead.py`.

Each family's step is a plain `tf.function` in the style of nanoGPT or TensorFlow's
DCGAN tutorial: one `GradientTape` per network, the loss written out, fresh Keras
optimizers and `tf.random` noise. It trains the sub-networks of a built tfgen model,
so it runs the same forward and backward passes as that model's `train_step` at the
default config, without per-example seeds, metric trackers or distribution-strategy
code. The learning rate is the config's peak `learning_rate`, held constant (tfgen's
VAE and language models decay it with a schedule: a few scalar ops per step).
"""

import math

import keras
import tensorflow as tf


def bare_train_step(model, config):
    """Returns `step(batch)`: a plain `tf.function` training step for the built tfgen
    `model` of `config`, reusing its networks' weights. `batch` is one element of
    tfgen's training pipeline; the step returns a scalar loss (the generator's for a GAN).

    Raises:
        ValueError: for an unknown `config.model`, naming the valid ones.
        NotImplementedError: for an option the bare step does not write out.
    """
    builders = {
        "vae": _vae,
        "dcgan": _gan,
        "wgan_gp": _gan,
        "cgan": _gan,
        "stylegan": _stylegan,
        "char_lstm": _language_model,
        "gpt": _language_model,
    }
    if config.model not in builders:
        raise ValueError(
            f"unknown model {config.model!r}; valid models are: {', '.join(sorted(builders))}"
        )
    return builders[config.model](model, config)


def _require(config, **values):
    """Refuses a config whose option the bare step does not implement."""
    for name, value in values.items():
        if getattr(config, name) != value:
            raise NotImplementedError(f"the bare step needs {name}={value!r}")


def _adam(variables, learning_rate, **kwargs):
    optimizer = keras.optimizers.Adam(learning_rate, **kwargs)
    optimizer.build(variables)  # Slots now, not inside the traced step.
    return optimizer


def _dense(gradients, variables):
    """Zeros for the variables a loss does not reach (a `tf.cond` branch needs tensors)."""
    return [tf.zeros_like(v) if g is None else g for g, v in zip(gradients, variables)]


def _update_ema(ema, source, decay, step):
    """ema <- d * ema + (1 - d) * weights, d ramped up as min(decay, (1 + t) / (10 + t))."""
    step = tf.cast(step, tf.float32)
    decay = tf.minimum(decay, (1.0 + step) / (10.0 + step))
    trainable = {id(v) for v in source.trainable_variables}
    for average, weight in zip(ema.weights, source.weights):  # Others (BN statistics): copied.
        average.assign(
            decay * average + (1.0 - decay) * weight if id(weight) in trainable else weight
        )


def _vae(model, config):
    """The negative ELBO: Bernoulli pixels, analytic KL to N(0, I), one reparameterized z."""
    _require(config, likelihood="bernoulli", kl_warmup_epochs=0)
    encoder, decoder, beta = model.encoder, model.decoder, config.beta
    variables = encoder.trainable_variables + decoder.trainable_variables
    optimizer = _adam(variables, config.learning_rate)

    @tf.function
    def step(batch):
        x = batch["image"]
        with tf.GradientTape() as tape:
            loc, raw_scale = tf.split(encoder(x, training=True), 2, axis=-1)
            scale = tf.nn.softplus(raw_scale) + 1e-5
            z = loc + scale * tf.random.normal(tf.shape(loc))
            logits = decoder(z, training=True)
            nll = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)
            distortion = tf.reduce_sum(nll, axis=[1, 2, 3])
            rate = 0.5 * tf.reduce_sum(loc**2 + scale**2 - 1.0 - 2.0 * tf.math.log(scale), -1)
            loss = tf.reduce_mean(distortion + beta * rate)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return step


GAN_LOSSES = {  # (discriminator loss, generator loss) per example, from logits.
    "non_saturating": (
        lambda real, fake: tf.nn.softplus(-real) + tf.nn.softplus(fake),
        lambda fake: tf.nn.softplus(-fake),
    ),
    "wasserstein": (lambda real, fake: fake - real, lambda fake: -fake),
}


def _gan(model, config):
    """DCGAN, WGAN-GP and cGAN: n_critic D updates, then G through the updated D, then EMA.

    The discriminator's dropout draws from Keras's own generator (no `seeds=`).
    """
    _require(config, augment="", r1_gamma=0.0)
    if config.loss not in GAN_LOSSES:
        raise NotImplementedError(f"the bare step writes out the losses {', '.join(GAN_LOSSES)}")
    d_loss_fn, g_loss_fn = GAN_LOSSES[config.loss]
    generator, discriminator = model.generator, model.discriminator
    d_vars, g_vars = discriminator.trainable_variables, generator.trainable_variables
    betas = dict(beta_1=config.beta_1, beta_2=config.beta_2)
    d_opt = _adam(d_vars, config.d_learning_rate or config.learning_rate, **betas)
    g_opt = _adam(g_vars, config.learning_rate, **betas)
    penalty_weight, conditional = config.gradient_penalty, config.model == "cgan"

    def train_critic(real, fake, labels):
        with tf.GradientTape() as tape:
            real_logits = discriminator(real, labels=labels, training=True)
            fake_logits = discriminator(fake, labels=labels, training=True)
            loss = tf.reduce_mean(d_loss_fn(real_logits, fake_logits))
            if penalty_weight:  # (|grad D(x_hat)| - 1)^2 between real and fake images.
                epsilon = tf.random.uniform([tf.shape(real)[0], 1, 1, 1])
                x_hat = epsilon * real + (1.0 - epsilon) * fake
                with tf.GradientTape() as inner:
                    inner.watch(x_hat)
                    total = tf.reduce_sum(discriminator(x_hat, labels=labels, training=True))
                squares = tf.reduce_sum(tf.square(inner.gradient(total, x_hat)), axis=[1, 2, 3])
                loss += penalty_weight * tf.reduce_mean(tf.square(tf.sqrt(squares + 1e-10) - 1.0))
        d_opt.apply_gradients(zip(tape.gradient(loss, d_vars), d_vars))

    @tf.function
    def step(batch):
        real = batch["image"] * 2.0 - 1.0
        labels = tf.cast(batch["label"], tf.int32) if conditional else None
        z_shape = [tf.shape(real)[0], config.latent_dim]
        for _ in range(config.n_critic - 1):  # Extra critic steps, fresh fakes each.
            fake = generator(tf.random.normal(z_shape), labels=labels, training=True)
            train_critic(real, fake, labels)
        with tf.GradientTape() as g_tape:  # G's forward pass, shared by the last D step.
            fake = generator(tf.random.normal(z_shape), labels=labels, training=True)
        train_critic(real, tf.stop_gradient(fake), labels)
        with g_tape:  # The same tape records G's loss through the updated D.
            g_loss = tf.reduce_mean(g_loss_fn(discriminator(fake, labels=labels, training=True)))
        g_opt.apply_gradients(zip(g_tape.gradient(g_loss, g_vars), g_vars))
        if model.ema_generator is not None:
            _update_ema(model.ema_generator, generator, config.ema_decay, g_opt.iterations)
        return g_loss

    return step


def _stylegan(model, config):
    """StyleGAN2: logistic loss, lazy R1 and path-length penalties, style mixing, EMA.

    The mixing cut-off is drawn once per batch, as in the official code.
    """
    _require(config, augment="", num_classes=0)
    generator, discriminator = model.generator, model.discriminator
    mapping, synthesis, num_ws = generator.mapping, generator.synthesis, generator.num_ws
    d_vars, g_vars = discriminator.trainable_variables, generator.trainable_variables
    adam = dict(beta_1=config.beta_1, beta_2=config.beta_2, epsilon=1e-8)
    d_opt = _adam(d_vars, config.learning_rate, **adam)
    g_opt = _adam(g_vars, config.learning_rate, **adam)
    pl_mean = tf.Variable(0.0, trainable=False)
    r1_scale = 0.5 * config.r1_gamma * config.r1_interval
    pl_scale = config.pl_weight * config.pl_interval

    def styles(batch_size, update_w_avg=False):
        """`[batch, num_ws, w_dim]`: w for the layers before a random cut-off, a second w after."""
        z_shape = [batch_size, config.latent_dim]
        w, other = mapping(tf.random.normal(z_shape)), mapping(tf.random.normal(z_shape))
        if update_w_avg:  # The truncation trick's centre.
            mean = tf.reduce_mean(w, axis=0)
            mapping.w_avg.assign(mean + mapping.w_avg_beta * (mapping.w_avg - mean))
        cutoff = tf.random.uniform([], 1, num_ws, dtype=tf.int32)
        cutoff = tf.where(tf.random.uniform([]) < config.style_mixing, cutoff, num_ws)
        return tf.where(tf.range(num_ws)[None, :, None] < cutoff, w[:, None], other[:, None])

    def synthesize(ws):
        noise = [tf.random.normal([tf.shape(ws)[0], *shape]) for shape in synthesis.noise_shapes]
        return synthesis(ws, noise=noise)

    def r1_gradients(real):
        with tf.GradientTape() as tape:
            with tf.GradientTape() as inner:
                inner.watch(real)
                total = tf.reduce_sum(discriminator(real, training=True))
            squares = tf.reduce_sum(tf.square(inner.gradient(total, real)), axis=[1, 2, 3])
            loss = r1_scale * tf.reduce_mean(squares)
        return _dense(tape.gradient(loss, d_vars), d_vars)

    def path_length_gradients(batch_size):
        with tf.GradientTape() as tape:
            ws = styles(batch_size)
            with tf.GradientTape() as inner:
                inner.watch(ws)
                images = synthesize(ws)
                direction = tf.random.normal(tf.shape(images)) / math.sqrt(
                    images.shape[1] * images.shape[2]
                )
                projection = tf.reduce_sum(images * direction)
            squares = tf.reduce_sum(tf.square(inner.gradient(projection, ws)), axis=2)
            lengths = tf.sqrt(tf.reduce_mean(squares, axis=1))
            loss = pl_scale * tf.reduce_mean(tf.square(lengths - pl_mean))
        return _dense(tape.gradient(loss, g_vars), g_vars), lengths

    def zeros(variables):
        return [tf.zeros_like(v) for v in variables]

    @tf.function
    def step(batch):
        real = batch["image"] * 2.0 - 1.0
        batch_size = tf.shape(real)[0]
        with tf.GradientTape() as g_tape:
            fake = synthesize(styles(batch_size, update_w_avg=True))
        with tf.GradientTape() as d_tape:
            real_logits = discriminator(real, training=True)
            fake_logits = discriminator(tf.stop_gradient(fake), training=True)
            d_loss = tf.reduce_mean(tf.nn.softplus(-real_logits) + tf.nn.softplus(fake_logits))
        d_grads = _dense(d_tape.gradient(d_loss, d_vars), d_vars)
        r1_due = tf.equal(d_opt.iterations % config.r1_interval, 0)
        r1_grads = tf.cond(r1_due, lambda: r1_gradients(real), lambda: zeros(d_vars))
        d_opt.apply_gradients(zip([g + r for g, r in zip(d_grads, r1_grads)], d_vars))

        with g_tape:
            g_loss = tf.reduce_mean(tf.nn.softplus(-discriminator(fake, training=True)))
        g_grads = _dense(g_tape.gradient(g_loss, g_vars), g_vars)
        pl_due = tf.equal(g_opt.iterations % config.pl_interval, 0)
        pl_grads, lengths = tf.cond(
            pl_due,
            lambda: path_length_gradients(batch_size),
            lambda: (zeros(g_vars), tf.zeros([batch_size])),
        )
        pl_target = pl_mean + 0.01 * (tf.reduce_mean(lengths) - pl_mean)
        pl_mean.assign(tf.where(pl_due, pl_target, pl_mean))
        g_opt.apply_gradients(zip([g + p for g, p in zip(g_grads, pl_grads)], g_vars))
        if model.ema_generator is not None:
            _update_ema(model.ema_generator, generator, config.ema_decay, g_opt.iterations)
        return g_loss

    return step


def _language_model(model, config):
    """Next-token cross-entropy; AdamW with weight decay on matrices, global-norm clipping."""
    variables = model.trainable_variables
    optimizer = keras.optimizers.AdamW(
        config.learning_rate,
        weight_decay=config.weight_decay,
        beta_2=config.beta_2,
        global_clipnorm=config.clip_norm,
    )
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    optimizer.build(variables)

    @tf.function
    def step(batch):
        inputs, targets = batch
        with tf.GradientTape() as tape:
            logits = model(inputs, training=True)
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=targets, logits=logits)
            )
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return step
