"""The CLAP plugin's process() (raingan.clap): time per call and underruns.

Installs the CLAP plugin from the installed package into a temporary folder (`raingan plugin
install --format clap`; a package built without DPF's sources has none), builds the small
CLAP host of the tests (tests/native/clap_host.c; needs a C compiler and Debian's
dpf-source for the CLAP headers), then plays one instance at 48 kHz stereo in 512-frame
blocks at real time: it waits until the plugin's producer streams and 1 s more, then records
SECONDS. Prints the host's p50, p99, p99.9 and maximum of the per-call durations of
process() over the recorded blocks (the plugin's whole audio-thread work: its parameter
events, the C ABI's render and stats), and the underruns the plugin counted.

    python benchmarks/clap_run.py [--seconds 60] [--seed 1]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HOST_SOURCE = Path(__file__).resolve().parents[1] / "tests" / "native" / "clap_host.c"
CLAP_HEADERS = Path("/usr/share/dpf/distrho/src")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None or not (CLAP_HEADERS / "clap" / "entry.h").is_file():
        sys.exit("clap_run: needs a C compiler and dpf-source (apt-get install dpf-source)")
    with tempfile.TemporaryDirectory() as tmp:
        installed = subprocess.run([sys.executable, "-m", "raingan", "plugin", "install",
                                    "--format", "clap", "--prefix", str(Path(tmp) / "clap")],
                                   capture_output=True, text=True)
        if installed.returncode != 0:
            sys.exit(f"clap_run: {installed.stderr.strip()}")
        folder = Path(installed.stdout.split(" in ", 1)[1].strip())
        host = Path(tmp) / "clap_host"
        subprocess.run([compiler, "-O2", f"-I{CLAP_HEADERS}", str(HOST_SOURCE), "-ldl", "-o",
                        str(host)], check=True)
        played = subprocess.run([str(host), str(folder / "raingan.clap"),
                                 str(Path(tmp) / "out.f32"), str(args.seconds), str(args.seed)],
                                capture_output=True, text=True)
        if played.returncode != 0:
            sys.exit(f"clap_run: {played.stderr.strip()}")
    lines = played.stdout.splitlines()
    streaming = next(line for line in lines if line.startswith("streaming after"))
    timing = next(line for line in lines if line.startswith("process us")).split()
    values = dict(zip(timing[2::2], timing[3::2]))
    underruns = lines[-1].split()[1]
    print(f"CLAP process(), 512 frames at 48 kHz, {args.seconds:g} s at real time, seed "
          f"{args.seed} ({streaming}): p50 {values['p50']} us, p99 {values['p99']} us, "
          f"p99.9 {values['p99.9']} us, max {values['max']} us; underruns {underruns}")


if __name__ == "__main__":
    main()
