"""RainGAN training stage (needs the `train` extra: pip install 'raingan[train]')."""
