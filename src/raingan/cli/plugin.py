"""`raingan plugin install`: one of RainGAN's plugins (LV2, VST3, CLAP), from the installed
package into a plugin folder."""

from __future__ import annotations

import argparse

_FORMATS = ("lv2", "vst3", "clap")
_FOLDERS = {"lv2": "~/.lv2", "vst3": "~/.vst3", "clap": "~/.clap"}


def add_plugin(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "plugin", help="install a plugin (LV2, VST3 or CLAP: a rain generator for DAWs)",
        description="Install one of RainGAN's plugins from this installation: LV2 "
                    "(urn:raingan:rain), VST3 or CLAP.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    install = actions.add_parser(
        "install", help="copy a plugin into a plugin folder",
        description="Copy a plugin (its binary, libraingan and, for LV2, its .ttl files) into "
                    "PREFIX, replacing one already there. The plugin runs its generator with this "
                    "Python, which must stay installed. Linux hosts search ~/.lv2, /usr/lib/lv2 "
                    "and LV2_PATH for LV2; ~/.vst3 and /usr/lib/vst3 for VST3; ~/.clap, "
                    "/usr/lib/clap and CLAP_PATH for CLAP.")
    install.add_argument("--format", choices=_FORMATS, default="lv2", dest="plugin_format",
                         help="plugin format (default lv2)")
    install.add_argument("--prefix", metavar="DIR",
                         help="plugin folder to install into, made if missing (default "
                              + ", ".join(f"{v} for {k}" for k, v in _FOLDERS.items()) + ")")
    install.set_defaults(run=_run_install)


def _run_install(args: argparse.Namespace) -> int:
    from raingan.runtime.plugin import PLUGIN_URI, install_plugin

    installed = install_plugin(args.prefix, fmt=args.plugin_format)
    name = PLUGIN_URI if args.plugin_format == "lv2" else f"RainGAN ({args.plugin_format.upper()})"
    print(f"installed {name} in {installed}")
    return 0
