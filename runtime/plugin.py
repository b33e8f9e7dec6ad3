"""RainGAN's plugins: where the installed package keeps them, and installing them.

The wheel carries the LV2 bundle ``raingan/lv2/raingan.lv2`` (the plugin binary,
``manifest.ttl`` and ``raingan.ttl``) when lv2-dev's headers were there at build time, and the
VST3 bundle ``raingan/plugins/raingan.vst3`` and the CLAP binary
``raingan/plugins/clap/raingan.clap`` when DPF's sources were (Debian: dpf-source).
Installing copies one into a plugin folder with ``libraingan.so`` beside the plugin's binary,
and names the Python interpreter that has RainGAN installed in a ``raingan-python`` file
there too: the plugin's producer process (``python -m raingan serve``) runs with it.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from raingan.core.atomic import atomic_folder
from raingan.core.errors import OutputPathError, RainGANError

__all__ = ["PLUGIN_URI", "BUNDLE_NAME", "PYTHON_FILE", "FORMATS", "PluginFormat",
           "packaged_bundle", "default_prefix", "install_plugin"]

#: The LV2 plugin's URI, as `lv2ls` lists it and hosts save it.
PLUGIN_URI = "urn:raingan:rain"
#: The LV2 bundle folder's name inside an LV2 folder.
BUNDLE_NAME = "raingan.lv2"
#: The file beside a plugin's binary that names the interpreter its producer runs with.
PYTHON_FILE = "raingan-python"

_PACKAGE = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class PluginFormat:
    """One plugin format as the package holds it and a plugin folder takes it.

    Attributes
    ----------
    name : "lv2", "vst3" or "clap"
    packaged : the installed item, relative to the package folder
    installed : its folder's name inside the plugin folder
    binary : the plugin binary's folder, relative to ``installed`` ("" : that folder)
    user_folder : the per-user plugin folder that Linux hosts search, relative to home
    probes : glob patterns under ``packaged`` that must each match for the plugin to be there
    missing, package : what a build without it lacked, and the Debian package that has it
    """

    name: str
    packaged: str
    installed: str
    binary: str
    user_folder: str
    probes: tuple[str, ...]
    missing: str
    package: str

    @property
    def label(self) -> str:
        return self.name.upper()


FORMATS: dict[str, PluginFormat] = {
    "lv2": PluginFormat("lv2", "lv2/raingan.lv2", BUNDLE_NAME, "", ".lv2",
                        ("manifest.ttl", "raingan_lv2.*"), "lv2-dev's headers were missing",
                        "lv2-dev"),
    "vst3": PluginFormat("vst3", "plugins/raingan.vst3", "raingan.vst3",
                         "Contents/x86_64-linux", ".vst3", ("Contents/x86_64-linux/raingan.so",),
                         "DPF's sources were missing", "dpf-source"),
    # A CLAP is one file; hosts search their folders recursively, so it gets a folder of its
    # own for libraingan and the interpreter's name.
    "clap": PluginFormat("clap", "plugins/clap", "raingan", "", ".clap", ("raingan.clap",),
                         "DPF's sources were missing", "dpf-source"),
}


class PluginNotBuiltError(RainGANError):
    """This installation of RainGAN was built without the LV2 plugin."""


def _format(fmt: str) -> PluginFormat:
    if fmt not in FORMATS:
        raise ValueError(f"plugin format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return FORMATS[fmt]


def packaged_bundle(fmt: str = "lv2") -> Path:
    """The plugin of format ``fmt`` inside the installed package.

    Raises
    ------
    PluginNotBuiltError
        If the package was built without it.
    """
    spec = _format(fmt)
    item = _PACKAGE / spec.packaged
    if not all(any(item.glob(probe)) for probe in spec.probes):
        raise PluginNotBuiltError(
            f"this RainGAN was built without the {spec.label} plugin ({spec.missing}): install "
            f"{spec.package} (Debian: apt-get install {spec.package}), then reinstall RainGAN")
    return item


def default_prefix(fmt: str = "lv2") -> Path:
    """The per-user folder that Linux hosts search for ``fmt``: ``~/.lv2``, ``~/.vst3`` or
    ``~/.clap``."""
    return Path.home() / _format(fmt).user_folder


def install_plugin(prefix: str | os.PathLike | None = None, python: str | None = None,
                   fmt: str = "lv2") -> Path:
    """Copy the plugin of format ``fmt`` into ``prefix`` (default :func:`default_prefix`,
    made if missing), replacing one already there whole; returns the installed folder
    (``raingan.lv2``, ``raingan.vst3``, or ``raingan`` holding ``raingan.clap``).

    Parameters
    ----------
    prefix : the plugin folder to install into
    python : the interpreter the plugin's producer runs with (default: this one)
    fmt : "lv2", "vst3" or "clap"

    Raises
    ------
    PluginNotBuiltError
        If the package has no such plugin.
    OutputPathError
        If ``prefix`` is a file or cannot be created or written.
    """
    spec = _format(fmt)
    packaged = packaged_bundle(fmt)
    library = _PACKAGE / "libraingan.so"
    if not library.is_file():
        raise PluginNotBuiltError(f"{library} is missing: reinstall RainGAN")
    prefix = Path(prefix) if prefix is not None else default_prefix(fmt)
    if prefix.exists() and not prefix.is_dir():
        raise OutputPathError(f"{prefix}: is a file; give a folder for the {spec.label} plugin")
    try:
        prefix.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"{prefix}: cannot create ({exc.strerror})") from None
    target = prefix / spec.installed
    with atomic_folder(target) as staging:
        shutil.copytree(packaged, staging, dirs_exist_ok=True)
        beside_binary = staging / spec.binary
        shutil.copy2(library, beside_binary / library.name)
        (beside_binary / PYTHON_FILE).write_text(f"{python or sys.executable}\n",
                                                 encoding="utf-8")
    return target
