"""Generation controls of a StyleGAN: truncation, style mixing, noise; grids and exports.

A mixin for `tfgen.models.StyleGAN`; everything here reads the sampling (EMA)
generator. The three grids written every epoch follow the StyleGAN paper
(Karras et al. 2019, https://arxiv.org/abs/1812.04948): fixed-seed samples, the
truncation trick at ψ = 1, 0.7, 0.5, 0 (figure 8: ψ = 0 is the "mean face",
`w_avg`), and style mixing (figure 3: every cell takes the coarse styles of its
row's latent and the fine styles of its column's latent).
"""

import tensorflow as tf

NOISE_MODES = ("fixed", "random", "none")
TRUNCATION_ROW = (1.0, 0.7, 0.5, 0.0)
COARSE_CROSSOVER = 3
"""Style inputs 0-2 drive the 4x4 and 8x8 layers: the paper's "coarse styles"."""


class StyleControls:
    """Truncation, style mixing and noise controls over `self.sampling_generator`."""

    def map_z(self, z, labels=None, truncation_psi=1.0):
        """Intermediate latents `w` `[batch, w_dim]`, truncated towards `w_avg` by ψ.

        ψ is a number, a scalar tensor, or one value per example (`[batch]`).
        """
        if not isinstance(truncation_psi, (int, float)):
            truncation_psi = tf.convert_to_tensor(truncation_psi, tf.float32)
            if truncation_psi.shape.rank == 1:
                truncation_psi = truncation_psi[:, None]
        return self.sampling_generator.mapping(
            z, labels=self.check_labels(labels), truncation_psi=truncation_psi
        )

    def noise(self, batch, noise_mode="fixed", noise_seed=0):
        """The synthesis noise maps: `fixed` (stored, `None`), `random` (from `noise_seed`)
        or `none` (zeros).

        Raises:
            ValueError: for an unknown mode, naming the valid ones.
        """
        synthesis = self.sampling_generator.synthesis
        if noise_mode == "fixed":
            return None
        if noise_mode == "random":
            return synthesis.random_noise(batch, noise_seed)
        if noise_mode == "none":
            return [tf.zeros([batch, *shape]) for shape in synthesis.noise_shapes]
        raise ValueError(f"noise_mode must be one of {', '.join(NOISE_MODES)}, got {noise_mode!r}")

    def synthesize(self, ws, noise=None):
        """Images in [0, 1] from styles `ws` (`[batch, num_ws, w_dim]`, or `[batch, w_dim]`
        for one style everywhere) and noise maps (`None` = the fixed maps)."""
        generator = self.sampling_generator
        ws = tf.convert_to_tensor(ws, tf.float32)
        if ws.shape.rank == 2:
            ws = generator.broadcast(ws)
        images = generator.synthesis(ws, noise=noise)
        return tf.clip_by_value((tf.cast(images, tf.float32) + 1.0) / 2.0, 0.0, 1.0)

    def generate(self, z, labels=None, truncation_psi=1.0, noise_mode="fixed", noise_seed=0):
        """Images in [0, 1] from latent codes `z` (and labels).

        Args:
            z: latent codes `[batch, latent_dim]`.
            labels: int labels of a conditional model.
            truncation_psi: ψ of `w ← w_avg + ψ (w − w_avg)`; 1 = no truncation.
            noise_mode: `"fixed"` (the generator's stored maps, deterministic),
                `"random"` (drawn from `noise_seed`) or `"none"`.
            noise_seed: seed of the `random` noise.
        """
        w = self.map_z(z, labels, truncation_psi)
        return self.synthesize(w, self.noise(tf.shape(z)[0], noise_mode, noise_seed))

    def sample_images(self, num, seed, labels=None, truncation_psi=1.0):
        """`num` images in [0, 1] from `z ~ N(0, I)` drawn with `seed`, truncated by ψ.

        For a conditional model, `labels` defaults to the classes in turn (0, 1, 2, ...).
        """
        if self.num_classes and labels is None:
            labels = tf.range(num) % self.num_classes
        return self.generate(self._latents(num, seed), labels, truncation_psi)

    def mix_styles(
        self,
        z_coarse,
        z_fine,
        crossover,
        labels=None,
        truncation_psi=1.0,
        noise_mode="fixed",
        noise_seed=0,
    ):
        """Images with the styles before layer `crossover` from `z_coarse`, the rest from `z_fine`.

        Args:
            z_coarse: latents of the coarse (low-resolution) styles, `[batch, latent_dim]`.
            z_fine: latents of the fine styles, same shape.
            crossover: a layer index from 0 (all styles from `z_fine`) to `num_ws`
                (all from `z_coarse`).
            labels, truncation_psi, noise_mode, noise_seed: as in `generate`.

        Raises:
            ValueError: for a crossover outside `[0, num_ws]`, naming the range.
        """
        generator = self.sampling_generator
        generator.check_crossover(crossover)
        ws = generator.mix(
            generator.broadcast(self.map_z(z_coarse, labels, truncation_psi)),
            generator.broadcast(self.map_z(z_fine, labels, truncation_psi)),
            crossover,
        )
        return self.synthesize(ws, self.noise(tf.shape(z_coarse)[0], noise_mode, noise_seed))

    # Grids ---------------------------------------------------------------------------

    def _latents(self, num, seed):
        return tf.random.stateless_normal([num, self.latent_dim], seed=[seed, 0])

    def _grid_labels(self, num):
        return tf.range(num) % self.num_classes if self.num_classes else None

    def truncation_grid(self, rows, seed, psis=TRUNCATION_ROW):
        """`[rows, len(psis), h, w, c]`: each row one latent at ψ = 1, 0.7, 0.5, 0."""
        z, labels = self._latents(rows, seed), self._grid_labels(rows)
        columns = [self.generate(z, labels, truncation_psi=psi) for psi in psis]
        return tf.stack(columns, axis=1)

    def style_mixing_grid(self, size, seed, crossover=None):
        """`[size + 1, size + 1, h, w, c]`, the StyleGAN paper's figure 3.

        The first row shows the column latents (fine styles), the first column the
        row latents (coarse styles), the corner is blank; cell (r, c) mixes row r's
        coarse styles with column c's fine styles at `crossover` (default
        `COARSE_CROSSOVER`, capped at `num_ws`).
        """
        num_ws = self.sampling_generator.num_ws
        crossover = min(COARSE_CROSSOVER, num_ws) if crossover is None else crossover
        coarse, fine = self._latents(size, seed), self._latents(size, seed + 1)
        labels = self._grid_labels(size)
        fine_images = self.generate(fine, labels)
        rows = [tf.concat([tf.zeros_like(fine_images[:1]), fine_images], axis=0)]
        coarse_images = self.generate(coarse, labels)
        for row in range(size):
            mixed = self.mix_styles(
                tf.repeat(coarse[row : row + 1], size, axis=0), fine, crossover, labels
            )
            rows.append(tf.concat([coarse_images[row : row + 1], mixed], axis=0))
        return tf.stack(rows, axis=0)

    def summary_images(self, examples, seed):
        """Every epoch: `samples`, `truncation` (ψ = 1, 0.7, 0.5, 0) and `style_mixing` grids."""
        size = max(1, int(round(examples["image"].shape[0] ** 0.5)))
        return {
            "samples": self.sample_grid(size, seed),
            "truncation": self.truncation_grid(min(size, 4), seed),
            "style_mixing": self.style_mixing_grid(min(size, 5), seed),
        }

    # Export --------------------------------------------------------------------------

    def export_endpoints(self):
        """`sample`, `generate`, `mapping` and `synthesis`, all with truncation ψ.

        - `generate(z[, labels], truncation_psi) -> images`, ψ one value per row, so
          TF Serving's row ("instances") format works;
        - `sample(num, seed[, label], truncation_psi) -> images` (scalars; label -1
          draws the classes in turn);
        - `mapping(z[, labels], truncation_psi) -> w`, ψ per row;
        - `synthesis(ws, noise0, ...) -> images` with one noise map per layer as inputs
          (no random op inside, so it converts to TFLite).
        """
        generator = self.sampling_generator
        z_spec = tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")
        psi_rows = tf.TensorSpec([None], tf.float32, name="truncation_psi")
        psi = tf.TensorSpec([], tf.float32, name="truncation_psi")
        num_spec = tf.TensorSpec([], tf.int32, name="num")
        seed_spec = tf.TensorSpec([], tf.int32, name="seed")
        if self.num_classes:
            labels_spec = tf.TensorSpec([None], tf.int32, name="labels")

            @tf.function(input_signature=[z_spec, labels_spec, psi_rows])
            def generate(z, labels, truncation_psi):
                return {"images": self.generate(z, labels, truncation_psi)}

            @tf.function(
                input_signature=[
                    num_spec,
                    seed_spec,
                    tf.TensorSpec([], tf.int32, name="label"),
                    psi,
                ]
            )
            def sample(num, seed, label, truncation_psi):
                """`num` images of class `label`; label -1 cycles through the classes."""
                labels = tf.where(
                    label < 0, tf.range(num) % self.num_classes, tf.fill([num], label)
                )
                return {"images": self.sample_images(num, seed, labels, truncation_psi)}

            @tf.function(input_signature=[z_spec, labels_spec, psi_rows])
            def mapping(z, labels, truncation_psi):
                return {"w": self.map_z(z, labels, truncation_psi)}
        else:

            @tf.function(input_signature=[z_spec, psi_rows])
            def generate(z, truncation_psi):
                return {"images": self.generate(z, None, truncation_psi)}

            @tf.function(input_signature=[num_spec, seed_spec, psi])
            def sample(num, seed, truncation_psi):
                return {"images": self.sample_images(num, seed, None, truncation_psi)}

            @tf.function(input_signature=[z_spec, psi_rows])
            def mapping(z, truncation_psi):
                return {"w": self.map_z(z, None, truncation_psi)}

        noise_specs = [
            tf.TensorSpec([None, *shape], tf.float32, name=f"noise{index}")
            for index, shape in enumerate(generator.synthesis.noise_shapes)
        ]
        ws_spec = tf.TensorSpec([None, generator.num_ws, generator.w_dim], tf.float32, name="ws")

        @tf.function(input_signature=[ws_spec, *noise_specs])
        def synthesis(ws, *noise):
            return {"images": self.synthesize(ws, list(noise))}

        return {"sample": sample, "generate": generate, "mapping": mapping, "synthesis": synthesis}
