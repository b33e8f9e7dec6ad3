"""RainGAN training stage (needs the `train` extra: pip install 'raingan[train]').

Training statistics and judging statistics are kept apart. The losses may use the adversarial
signal and the texture terms (:mod:`.texture_loss` on images, :mod:`.cochlear` on the sound,
both built on the cochlear filterbank of :mod:`raingan.eval.cochlear`); the texture term on
the sound (``--g-texture-audio``) pulls the very statistics that ``raingan eval``'s texture
distance reports, so a model trained with it must be judged by the other judges. Those, the
fine modulation spectrum (:mod:`raingan.eval.modulation`) and the classifier test's features
(:mod:`raingan.eval.classifier`), are never imported by training (an import-linter contract in
pyproject.toml).
"""
