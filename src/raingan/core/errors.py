"""Typed errors raised for bad input; the CLI turns each into one line and a non-zero exit."""


class RainGANError(Exception):
    """Base class of every error that RainGAN reports to a user as one line."""


class AudioInputError(RainGANError, ValueError):
    """Audio that cannot be used: missing, unreadable, silent, too short or oddly shaped."""


class SpecError(RainGANError, ValueError):
    """A spectral spec whose parameters contradict each other."""


class OutputPathError(RainGANError, OSError):
    """An output location that cannot be written."""
