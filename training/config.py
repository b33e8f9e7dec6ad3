"""Training configuration: one dataclass, and the presets users pick by name."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..core.errors import RainGANError
from ..core.fields import from_known_fields
from ..runtime.latent import DEFAULT_TRUNCATION

LOSSES = ("hinge", "nonsaturating", "wgan-gp")
#: "stream": fully convolutional along time (:mod:`.streaming`); "chunk": one image per
#: 0.74 s chunk, stitched (:mod:`.models`, the article's design).
ARCHITECTURES = ("stream", "chunk")
G_COARSE = ("columns", "dense")
#: How the generator's convolutions pad the time axis (see :class:`.layers.SNConv2D`).
TIME_PADDINGS = ("circular", "zero")
#: How the generator doubles its feature maps (see :class:`.layers.SmoothUpsample2D`).
UPSAMPLINGS = ("nearest", "bilinear", "time-linear")


class ConfigError(RainGANError, ValueError):
    """A training configuration that cannot work."""


def column_latent_split(latent_dim: int, columns: int) -> tuple[int, int]:
    """(shared, own): a "columns" generator gives every time column the first ``shared``
    latent components and its own slice of ``own`` of the others (see
    :class:`.layers.ColumnLatents`)."""
    own = (latent_dim // 2) // columns
    if own < 1:
        raise ConfigError(f"latent_dim {latent_dim} is too small for {columns} columns")
    return latent_dim - own * columns, own


#: Fields a resumed run may change: how it goes on learning, not what it learns with (the
#: models' shapes, the data stream, the loss's kind).
#: Most passes of :attr:`TrainConfig.field_band_smoothing` (each widens an edge by a band).
MAX_BAND_SMOOTHING = 8

RESUMABLE_FIELDS: tuple[str, ...] = ("g_texture_weight", "g_texture_heard", "g_texture_audio",
                                     "g_texture_phase_iterations", "g_average_decay", "g_lr", "d_lr", "d_r1_weight",
                                     "checkpoint_every",
                                     "keep_checkpoints")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run, apart from the data and the spec.

    Attributes
    ----------
    architecture : "stream" (:mod:`.streaming`: a latent field, dilated convolutions over
        time, any length) or "chunk" (:mod:`.models`: one image per chunk, as the article)
    field_global_dim, field_local_dim : "stream" only: channels of a latent-field column that
        hold the global code (the rain's character) and the column's own noise
    field_bands : "stream" only: the generator writes each frame's mean on this many mel
        bands, interpolated to the image rows (0: on every row itself, which on the
        stream-cpu preset learned a fixed level per bin, heard as tonal lines)
    field_band_smoothing : "stream" only: passes of a (1/4, 1/2, 1/4) blend of neighbouring
        mel bands' levels (:func:`raingan.core.mel.band_smoothing`) before they become image
        rows; without it the stream-cpu preset's spectra zigzagged from band to band by 5-10
        dB, heard as faint tonal bands
    stream_window_smoothing : "stream" only: blend the mean band levels of neighbouring
        frames in power as the STFT window does (:class:`.streaming.WindowSmoothing`); without
        it the stream-cpu preset's renders carried a line at the frame rate (+3.6 dB)
    stream_speckle_drops : "stream" only: the training speckle's noise holds the drops that
        the run fits at its start (:mod:`.drops`), as the runtime's does; without them (runs
        before 2026-12-08) the generator trained on Gaussian speckle and the clicks were
        added at run time only
    stream_dilations : "stream" only: dilations of the generator's 3-tap convolutions over
        time, one residual block each; their sum is the context each side of a frame
    latent_dim : size of the generator's latent vector ("chunk")
    g_channels : generator feature maps per resolution, coarsest first; each step after the
        first doubles both image dimensions, so the coarsest resolution is the image size
        divided by ``2 ** (len(g_channels) - 1)``
    d_channels : discriminator feature maps per resolution, finest first (each halves it)
    g_coarse : how the latent becomes the generator's first feature map: "columns" (default)
        splits the latent into a global part and one part per time column and maps each
        column with the same weights, so no time position has features of its own and the
        generator cannot stamp one temporal pattern on every chunk (heard as a pulse at the
        chunk rate); "dense" (the article's) maps the whole latent with one dense layer
    g_time_padding : how the generator's convolutions pad the time axis: "circular"
        (default) wraps it around, so that, with "columns", even the chunk's edges look like
        its middle; "zero" (the article's) makes the edges special, a pattern the generator
        repeats in every chunk
    g_upsample : "nearest" (default: copies), "bilinear" (smooth; on the cpu preset its
        discriminator won outright by step 400 and the run stalled, see BENCHMARKS.md) or
        "time-linear" (rows copied, time interpolated: against the 43 Hz buzz that nearest
        upsampling trains into)
    g_noise_levels : how many of the generator's finest resolutions get per-pixel noise
        (StyleGAN's noise inputs): the latent's tail holds one standard normal value per
        pixel of each, added to every feature map with a learned strength per channel.
        Without it (0, the article's) the generator must derive the random fine structure of
        a spectrogram (drop onsets, the speckle of noisy magnitudes) from a few hundred
        latent values; it renders the images too smooth and, trained longer, grows a
        periodic pattern instead (see BENCHMARKS.md)
    g_frame_noise : the noisy resolutions also get one noise value per time frame, shared by
        every row: a broadband event at a random time, from which the generator could make
        drop onsets. Off by default: on the cpu preset it made every band rise and fall
        together (band-correlation distance 3.7-4.8 from step 750, see BENCHMARKS.md)
    g_average_decay : decay per step of the moving average of the generator's weights that
        is scored and exported (:mod:`.average`); 0 (default) scores and exports the raw
        weights. Off on the cpu preset: over 2000 steps its generator drifted rather than
        circled, and the average, lagging behind, scored no better (BENCHMARKS.md); the full
        preset uses 0.999, as BigGAN and StyleGAN do over tens of thousands of steps. A
        resumed run may turn it on: the average then starts at the resumed weights
    g_texture_weight : weight of the texture-matching term in the generator's loss
        (:mod:`.texture_loss`: band-envelope variation, correlation and modulation statistics
        of its images against the real batch's); 0 (the article's) trains adversarially only
    g_texture_heard : take the texture term's statistics of the generated images as they
        sound: after the runtime's phase reconstruction and a new analysis (:mod:`.reanalysis`),
        not of the images themselves
    g_texture_audio : with ``g_texture_heard``, take them on the reconstructed audio itself,
        as ``raingan eval`` does (cochlear envelopes at 400 Hz, :mod:`.cochlear`), against
        the corpus's chunks, rather than on its STFT image
    g_texture_phase_iterations : Fast Griffin-Lim iterations after PGHI in the phase that
        ``g_texture_heard`` hears the images with (16 by default; the
        runtime renders generated rain with 2, ``raingan.core.phase.STREAM_PHASE``)
    g_attention_level, d_attention_level : index into the channel lists of the resolution that
        gets a self-attention block; None for none
    loss : "hinge" (default, SAGAN), "nonsaturating" (the RainGAN article) or "wgan-gp"
    gp_weight : gradient-penalty weight for "wgan-gp"
    d_r1_weight : weight ``gamma / 2`` of the R1 penalty on the discriminator's gradient at
        real images (:func:`.losses.r1_penalty`), any loss; 0 (the article's) for none. The
        stream presets use 10, a guard against a discriminator that memorises a small
        corpus; on 27 s of one recording it did not by itself stop the generator's drift
        (BENCHMARKS.md, "A user's one-recording run")
    d_augment : "stream" only: the discriminator sees every image, real or generated, through
        the same random differentiable transformations (:class:`.streaming.DiffAugment`: a
        level offset, a crop in time and a cut-out), so that it cannot memorise a small
        corpus's crops (Zhao et al. 2020); off in every preset (on 13.5 s of one recording it
        did not help: BENCHMARKS.md, "A user's one-recording run"); False in older runs
    d_steps : discriminator updates per generator update
    g_lr, d_lr : Adam learning rates (two time-scale update rule: D learns faster)
    beta_1, beta_2 : Adam moment decays
    batch_size : global batch, summed over replicas
    steps : default number of generator updates for the run
    truncation : latent truncation threshold, standard deviations (also the export default)
    gain_db : crops are scaled by a random gain, uniform in +-gain_db (0 disables)
    checkpoint_every : steps between checkpoints
    select_checkpoint : score every checkpoint's generator by the training statistic of
        :mod:`.selection` (its band levels' frame-to-frame spread against the training
        audio's) and keep the best beside the newest; ``raingan export`` takes it. Off: the
        export takes the last checkpoint
    select_every : with ``select_checkpoint``, also score the generator every this many steps
        between checkpoints, and write a checkpoint when it scores best so far (0: score at
        checkpoints only); on a small corpus the best generator came early
    eval_every : steps between rendered, scored samples (0 disables)
    eval_seconds : seconds of audio rendered for each scored sample
    log_every : steps between scalar log entries
    keep_checkpoints : how many recent checkpoints stay on disk
    seed : seeds crops, latents and initial weights
    """

    architecture: str = "chunk"
    field_global_dim: int = 32
    field_local_dim: int = 16
    field_bands: int = 128
    field_band_smoothing: int = 2
    stream_window_smoothing: bool = True
    stream_speckle_drops: bool = True
    stream_dilations: tuple[int, ...] = (1, 2, 4, 8, 1, 2, 4, 8)
    latent_dim: int = 256
    g_channels: tuple[int, ...] = (256, 128, 64, 32, 16, 8)
    d_channels: tuple[int, ...] = (8, 16, 32, 64, 128, 256)
    g_coarse: str = "columns"
    g_time_padding: str = "circular"
    g_upsample: str = "nearest"
    g_noise_levels: int = 2
    g_frame_noise: bool = False
    g_average_decay: float = 0.0
    g_texture_weight: float = 0.0
    g_texture_heard: bool = False
    g_texture_audio: bool = False
    g_texture_phase_iterations: int = 16
    g_attention_level: int | None = 2
    d_attention_level: int | None = 3
    loss: str = "hinge"
    gp_weight: float = 10.0
    d_r1_weight: float = 0.0
    d_augment: bool = False
    d_steps: int = 1
    g_lr: float = 1e-4
    d_lr: float = 4e-4
    beta_1: float = 0.0
    beta_2: float = 0.9
    batch_size: int = 16
    steps: int = 2000
    truncation: float = DEFAULT_TRUNCATION
    gain_db: float = 6.0
    checkpoint_every: int = 250
    select_checkpoint: bool = False
    select_every: int = 0
    eval_every: int = 250
    eval_seconds: float = 6.0
    log_every: int = 10
    keep_checkpoints: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("g_channels", "d_channels", "stream_dilations"):
            object.__setattr__(self, name, tuple(int(c) for c in getattr(self, name)))
        self.validate()

    @property
    def hears_images(self) -> bool:
        """Whether a generator step reconstructs its images' phase (its texture term takes
        the statistics of the sound)."""
        return self.g_texture_heard and self.g_texture_weight > 0

    def validate(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(f"architecture must be one of {', '.join(ARCHITECTURES)}, "
                              f"got {self.architecture!r}")
        if self.architecture == "stream":
            if min(self.field_global_dim, self.field_local_dim) < 1:
                raise ConfigError("field_global_dim and field_local_dim must be >= 1")
            if self.field_bands < 0:
                raise ConfigError(f"field_bands must be >= 0, got {self.field_bands}")
            if not 0 <= self.field_band_smoothing <= MAX_BAND_SMOOTHING:
                raise ConfigError(f"field_band_smoothing must be in 0..{MAX_BAND_SMOOTHING}, "
                                  f"got {self.field_band_smoothing}")
            if not isinstance(self.stream_speckle_drops, bool):
                raise ConfigError(f"stream_speckle_drops must be true or false, got "
                                  f"{self.stream_speckle_drops!r}")
            if not isinstance(self.d_augment, bool):
                raise ConfigError(f"d_augment must be true or false, got {self.d_augment!r}")
            if not self.stream_dilations or min(self.stream_dilations) < 1:
                raise ConfigError("stream_dilations must be positive integers")
            if self.g_texture_weight > 0:
                raise ConfigError("the stream architecture trains adversarially only "
                                  "(g_texture_weight 0)")
        elif self.d_augment:
            raise ConfigError("d_augment is for the stream architecture's discriminator")
        if self.g_coarse not in G_COARSE:
            raise ConfigError(f"g_coarse must be one of {', '.join(G_COARSE)}, got {self.g_coarse!r}")
        if self.g_time_padding not in TIME_PADDINGS:
            raise ConfigError(f"g_time_padding must be one of {', '.join(TIME_PADDINGS)}, "
                              f"got {self.g_time_padding!r}")
        if self.g_upsample not in UPSAMPLINGS:
            raise ConfigError(f"g_upsample must be one of {', '.join(UPSAMPLINGS)}, "
                              f"got {self.g_upsample!r}")
        if not 0 <= self.g_noise_levels < len(self.g_channels):
            raise ConfigError(f"g_noise_levels must be in 0..{len(self.g_channels) - 1} (the "
                              f"coarsest map has no convolution to add noise to), got "
                              f"{self.g_noise_levels}")
        if not 0.0 <= self.g_average_decay < 1.0:
            raise ConfigError(f"g_average_decay must be in [0, 1), got {self.g_average_decay}")
        if not isinstance(self.g_texture_heard, bool):
            raise ConfigError(f"g_texture_heard must be true or false, got {self.g_texture_heard!r}")
        if isinstance(self.select_every, bool) or not isinstance(self.select_every, int) \
                or self.select_every < 0:
            raise ConfigError(f"select_every must be an integer >= 0, got {self.select_every!r}")
        if not isinstance(self.select_checkpoint, bool):
            raise ConfigError(f"select_checkpoint must be true or false, got "
                              f"{self.select_checkpoint!r}")
        if not isinstance(self.g_texture_audio, bool):
            raise ConfigError(f"g_texture_audio must be true or false, got {self.g_texture_audio!r}")
        if self.g_texture_audio and not self.g_texture_heard:
            raise ConfigError("g_texture_audio needs g_texture_heard (the audio is what the "
                              "images sound like)")
        if (isinstance(self.g_texture_phase_iterations, bool)
                or not isinstance(self.g_texture_phase_iterations, int)
                or self.g_texture_phase_iterations < 0):
            raise ConfigError(f"g_texture_phase_iterations must be an integer >= 0, got "
                              f"{self.g_texture_phase_iterations!r}")
        if not (self.g_texture_weight >= 0 and self.g_texture_weight < float("inf")):
            raise ConfigError(f"g_texture_weight must be finite and >= 0, got "
                              f"{self.g_texture_weight}")
        if self.loss not in LOSSES:
            raise ConfigError(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if len(self.g_channels) < 2 or len(self.d_channels) < 2:
            raise ConfigError("g_channels and d_channels need at least two resolutions")
        if min(self.g_channels + self.d_channels) < 1:
            raise ConfigError("channel counts must be positive")
        for name, level, channels in (("g_attention_level", self.g_attention_level, self.g_channels),
                                      ("d_attention_level", self.d_attention_level, self.d_channels)):
            if level is not None and not 0 <= level < len(channels):
                raise ConfigError(f"{name} {level} is outside 0..{len(channels) - 1}")
        positive = ("latent_dim", "batch_size", "steps", "d_steps", "checkpoint_every",
                    "log_every", "keep_checkpoints")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not (self.g_lr > 0 and self.d_lr > 0 and self.truncation > 0):
            raise ConfigError("learning rates and truncation must be > 0")
        if not (0.0 <= self.d_r1_weight < float("inf")):
            raise ConfigError(f"d_r1_weight must be finite and >= 0, got {self.d_r1_weight}")
        if self.eval_every < 0 or self.gain_db < 0 or self.eval_seconds <= 0:
            raise ConfigError("eval_every and gain_db must be >= 0, eval_seconds > 0")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["g_channels"] = list(self.g_channels)
        data["d_channels"] = list(self.d_channels)
        data["stream_dilations"] = list(self.stream_dilations)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        # Runs saved before these fields existed used the dense mapping, zero padding, no
        # noise and no weight average.
        older = {"architecture": "chunk", "g_coarse": "dense", "g_time_padding": "zero", "g_upsample": "nearest",
                 "g_noise_levels": 0, "g_frame_noise": False, "g_average_decay": 0.0,
                 "field_band_smoothing": 0, "stream_speckle_drops": False}
        return from_known_fields(cls, {**older, **data}, "config", ConfigError)

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


PRESETS: dict[str, TrainConfig] = {
    # Seconds on a CPU: proves the whole pipeline, learns nothing.
    "tiny": TrainConfig(latent_dim=16, g_channels=(8, 8, 4, 4, 4, 2), d_channels=(2, 4, 4, 4, 8, 8),
                        g_attention_level=1, d_attention_level=4, batch_size=4, steps=4,
                        checkpoint_every=2, eval_every=4, eval_seconds=2.0, log_every=1),
    # About an hour on two CPU cores.
    "cpu": TrainConfig(latent_dim=128, g_channels=(128, 64, 32, 16, 8, 4),
                       d_channels=(16, 16, 16, 32, 64, 128), batch_size=16, steps=6000,
                       checkpoint_every=500, eval_every=500),
    # The streaming architecture (.streaming): seconds, about an hour on two cores, a GPU.
    "stream-tiny": TrainConfig(architecture="stream", field_global_dim=4, field_local_dim=4,
                               stream_dilations=(1, 2), field_bands=16, g_channels=(8, 8),
                               d_channels=(8, 8),
                               g_noise_levels=0, g_attention_level=None,
                               d_attention_level=None,
                               batch_size=4, steps=4, checkpoint_every=2, eval_every=4,
                               eval_seconds=2.0, log_every=1, select_checkpoint=True),
    "stream-cpu": TrainConfig(architecture="stream", g_channels=(128, 128), g_noise_levels=0,
                              d_channels=(128, 128, 256, 256), g_attention_level=None,
                              d_attention_level=None, batch_size=16, steps=6000,
                              checkpoint_every=500, eval_every=500, select_checkpoint=True,
                              select_every=100, d_r1_weight=10.0),
    "stream-full": TrainConfig(architecture="stream", g_channels=(512, 512), g_noise_levels=0,
                               stream_dilations=(1, 2, 4, 8, 16, 1, 2, 4, 8, 16),
                               d_channels=(512, 512, 512, 512), g_attention_level=None,
                               d_attention_level=None, g_average_decay=0.999, batch_size=64,
                               steps=30000, checkpoint_every=1000, eval_every=1000,
                               eval_seconds=10.0, select_checkpoint=True, select_every=200,
                               d_r1_weight=10.0),
    # The article's scale, for a GPU.
    "full": TrainConfig(g_channels=(512, 256, 128, 64, 32, 16), g_average_decay=0.999,
                        d_channels=(16, 32, 64, 128, 256, 512), batch_size=64, steps=30000,
                        checkpoint_every=1000, eval_every=1000, eval_seconds=10.0),
}
