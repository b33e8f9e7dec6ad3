"""`raingan plugin install`: the LV2 plugin's bundle, from the installed package into an LV2
folder."""

from __future__ import annotations

import argparse


def add_plugin(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "plugin", help="install the LV2 plugin (a rain generator for DAWs)",
        description="Install RainGAN's LV2 plugin (urn:raingan:rain) from this installation.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    install = actions.add_parser(
        "install", help="copy the raingan.lv2 bundle into an LV2 folder",
        description="Copy the raingan.lv2 bundle (the plugin, its .ttl files and libraingan) into "
                    "PREFIX, replacing one already there. The plugin runs its generator with this "
                    "Python, which must stay installed. Hosts search ~/.lv2, /usr/lib/lv2 and "
                    "/usr/local/lib/lv2, and any folder in LV2_PATH.")
    install.add_argument("--prefix", metavar="DIR",
                         help="LV2 folder to install into, made if missing (default ~/.lv2)")
    install.set_defaults(run=_run_install)


def _run_install(args: argparse.Namespace) -> int:
    from raingan.runtime.plugin import PLUGIN_URI, install_plugin

    bundle = install_plugin(args.prefix)
    print(f"installed {PLUGIN_URI} in {bundle}")
    return 0
