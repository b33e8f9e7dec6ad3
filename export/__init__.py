"""RainGAN export stage (needs the `train` extra: pip install 'raingan[train]')."""

#: Audio rendered per calibration round, seconds, as streams of
#: :data:`~raingan.export.colour_fit.STREAM_SECONDS` with independent chunks (no drift: the
#: drift's slow wander would cost several times the audio for the same precision). Streams of
#: the uncalibrated bundled model differ by up to 2.2 dB rms in their 30 s band levels (the
#: 190-310 Hz bands; rare loud events), so 8 of them pin the mean to about 0.8 dB. Defined
#: here, where importing it costs nothing, because every `raingan` command's parser shows it.
CALIBRATION_SECONDS = 240.0
