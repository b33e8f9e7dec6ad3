"""RainGAN export stage (needs the `train` extra: pip install 'raingan[train]')."""
