"""The LV2 plugin's bundle: where the installed package keeps it, and installing it.

The wheel carries ``raingan/lv2/raingan.lv2`` (the plugin binary, ``manifest.ttl`` and
``raingan.ttl``) when lv2-dev's headers were there at build time. Installing copies it into an
LV2 folder with ``libraingan.so`` beside the plugin, and names the Python interpreter that has
RainGAN installed in the bundle's ``raingan-python`` file: the plugin's producer process
(``python -m raingan serve``) runs with that interpreter.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from raingan.core.atomic import atomic_folder
from raingan.core.errors import OutputPathError, RainGANError

__all__ = ["PLUGIN_URI", "BUNDLE_NAME", "PYTHON_FILE", "packaged_bundle", "default_prefix",
           "install_plugin"]

#: The plugin's URI, as `lv2ls` lists it and hosts save it.
PLUGIN_URI = "urn:raingan:rain"
#: The bundle folder's name inside an LV2 folder.
BUNDLE_NAME = "raingan.lv2"
#: The bundle's file that names the interpreter the plugin's producer runs with.
PYTHON_FILE = "raingan-python"

_PACKAGE = Path(__file__).resolve().parents[1]


class PluginNotBuiltError(RainGANError):
    """This installation of RainGAN was built without the LV2 plugin."""


def packaged_bundle() -> Path:
    """The bundle inside the installed package.

    Raises
    ------
    PluginNotBuiltError
        If the package was built without the plugin (no lv2-dev at build time).
    """
    bundle = _PACKAGE / "lv2" / BUNDLE_NAME
    if not (bundle / "manifest.ttl").is_file() or not any(bundle.glob("raingan_lv2.*")):
        raise PluginNotBuiltError(
            "this RainGAN was built without the LV2 plugin (lv2-dev's headers were missing): "
            "install lv2-dev (Debian: apt-get install lv2-dev), then reinstall RainGAN")
    return bundle


def default_prefix() -> Path:
    """``~/.lv2``, the per-user LV2 folder that Linux hosts search."""
    return Path.home() / ".lv2"


def install_plugin(prefix: str | os.PathLike | None = None, python: str | None = None) -> Path:
    """Copy the bundle into ``prefix`` (default ``~/.lv2``, made if missing), replacing a
    bundle already there whole; returns the installed bundle's folder.

    Parameters
    ----------
    prefix : the LV2 folder to install into
    python : the interpreter the plugin's producer runs with (default: this one)

    Raises
    ------
    PluginNotBuiltError
        If the package has no plugin.
    OutputPathError
        If ``prefix`` is a file or cannot be created or written.
    """
    bundle = packaged_bundle()
    library = _PACKAGE / "libraingan.so"
    if not library.is_file():
        raise PluginNotBuiltError(f"{library} is missing: reinstall RainGAN")
    prefix = Path(prefix) if prefix is not None else default_prefix()
    if prefix.exists() and not prefix.is_dir():
        raise OutputPathError(f"{prefix}: is a file; give a folder for the LV2 bundle")
    try:
        prefix.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"{prefix}: cannot create ({exc.strerror})") from None
    target = prefix / BUNDLE_NAME
    with atomic_folder(target) as staging:
        for item in bundle.iterdir():
            if item.is_file():
                shutil.copy2(item, staging / item.name)
        shutil.copy2(library, staging / library.name)
        (staging / PYTHON_FILE).write_text(f"{python or sys.executable}\n", encoding="utf-8")
    return target
