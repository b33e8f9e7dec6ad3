#!/usr/bin/env python3
"""Rebuild data/rain and data/rain_holdout from Debian (bookworm) packages.

This documents and reproduces how the rain corpus was collected: which package and version,
which member file (and, for archives inside packages, which entry), and which cut. It is not
run by the tests.

    python data/collect_rain.py --debs /tmp/debs --download   # fetch the .debs with apt-get
    python data/collect_rain.py --debs /tmp/debs               # rebuild from fetched .debs
    python data/collect_rain.py --debs /tmp/debs --verify-only # check the files in the tree
    python data/collect_rain.py --dedup data/rain data/rain_holdout   # content duplicates

Needs: dpkg-deb (Debian), apt-get for --download, numpy, scipy and soundfile. The OpenClonk
entry needs the `c4group` tool, which the script takes from the `openclonk` package itself
(downloaded and unpacked, not installed).

What was kept, cut, dropped and why is in rain/SOURCES.md and rain_holdout/SOURCES.md;
rain/megaglest_birch_forest.ogg, which has bird calls throughout, is kept whole for now (see
rain/SOURCES.md). Files already in the folders are overwritten; nothing is deleted.

Files kept whole are copied byte for byte. Cuts are written as FLAC with soundfile (16-bit:
every cut source here is Ogg Vorbis, decoded by libsndfile), with the source's rate and channel
count; cut points are `round(seconds * rate)` frames. Copies are checked against the SHA-256
of their bytes; cuts against the SHA-256 of their decoded 16-bit samples (FLAC container bytes
depend on the encoder version).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Item:
    out: str                 # path under data/
    package: str
    version: str
    member: str              # path inside the .deb
    entry: str | None = None # entry inside an archive member (zip, c4group, Qt rcc)
    cut: tuple[float, float | None] | None = None   # seconds; None end = to the end


MG = "usr/share/games/megaglest/tilesets"
FG = "usr/share/games/flightgear/Sounds"
RE = "usr/share/games/redeclipse/data/sounds/ambience/morph"
FLARE = "usr/share/games/flare/mods/empyrean_campaign/soundfx/environment/rain.ogg"
PLEE = "usr/share/games/plee-the-bear/sound/weather/rain.ogg"
ZERO_AD = "usr/share/games/0ad/mods/public/public.zip"
GC_RCC = "usr/share/gcompris-qt/rcc/memory-sound.rcc"
GC_ENTRY = "gcompris/src/activities/memory-sound/resource/LRRain_in_garden_01_LA_cut.ogg"

ITEMS: list[Item] = [
    # --- training corpus, data/rain -------------------------------------------------------
    # the five earlier recordings kept whole
    Item("rain/megaglest_autumn.ogg", "megaglest-data", "3.13.0-3",
         f"{MG}/autumn/sounds/rain.ogg"),
    Item("rain/megaglest_dark_forest.ogg", "megaglest-data", "3.13.0-3",
         f"{MG}/dark_forest/sounds/rain.ogg"),
    Item("rain/megaglest_desert.wav", "megaglest-data", "3.13.0-3",
         f"{MG}/desert2/sounds/rain.wav"),
    # bird calls throughout (see rain/SOURCES.md): kept only because tests and benchmarks read it
    Item("rain/megaglest_birch_forest.ogg", "megaglest-data", "3.13.0-3",
         f"{MG}/birch_forest/sounds/rain.ogg"),
    Item("rain/flightgear_rain.wav", "flightgear-data-base", "1:2020.3.16+dfsg-1",
         f"{FG}/rain.wav"),
    Item("rain/flightgear_rain_windshield.wav", "flightgear-data-base", "1:2020.3.16+dfsg-1",
         f"{FG}/rain-windshield.wav"),
    # new recordings
    Item("rain/flare_rain_part1.flac", "flare-game", "1.14-1", FLARE, cut=(0.0, 40.5)),
    Item("rain/flare_rain_part2.flac", "flare-game", "1.14-1", FLARE, cut=(59.5, None)),
    Item("rain/plee_the_bear_rain_part1.flac", "plee-the-bear-data", "0.6.0-8", PLEE,
         cut=(0.0, 9.5)),
    Item("rain/plee_the_bear_rain_part2.flac", "plee-the-bear-data", "0.6.0-8", PLEE,
         cut=(25.0, None)),
    Item("rain/0ad_rain_11_part1.flac", "0ad-data", "0.0.26-1", ZERO_AD,
         entry="audio/ambient/weather/rain_11.ogg", cut=(0.0, 50.5)),
    Item("rain/0ad_rain_11_part2.flac", "0ad-data", "0.0.26-1", ZERO_AD,
         entry="audio/ambient/weather/rain_11.ogg", cut=(65.5, 86.0)),
    Item("rain/openclonk_stereo_rain.ogg", "openclonk-data", "8.1-3",
         "usr/share/games/openclonk/Sound.ocg", entry="Liquids.ocg/StereoRain.ogg"),
    Item("rain/redeclipse_rain.ogg", "redeclipse-data", "1.6.0-1", f"{RE}/rain.ogg"),
    Item("rain/7kaa_rain.wav", "7kaa-data", "2.15.5+dfsg-1",
         "usr/share/games/7kaa/SOUND/RAIN.WAV"),
    Item("rain/scorched3d_rain.wav", "scorched3d-data", "44+dfsg-8",
         "usr/share/games/scorched3d/data/globalmods/none/data/wav/misc/rain.wav"),
    # --- held out, data/rain_holdout (whole recordings training never sees) ---------------
    Item("rain_holdout/ardentryst_rain_loop.ogg", "ardentryst", "1.71-9",
         "usr/share/games/ardentryst/Sounds/Rain_Loop.ogg"),
    Item("rain_holdout/gcompris_rain_in_garden.ogg", "gcompris-qt-data", "3.1-2",
         GC_RCC, entry=GC_ENTRY),
    Item("rain_holdout/redeclipse_stormrain.ogg", "redeclipse-data", "1.6.0-1",
         f"{RE}/stormrain.ogg"),
]

# SHA-256 from the collection run: of the bytes (copies) or of the decoded int16 samples,
# prefixed with "rate:channels:" (cuts).
EXPECTED: dict[str, str] = {
    "rain/megaglest_autumn.ogg":
        "7329a4a61f7739e19cc999e418ec209b7f4ca183eab2d3dcda53bbacc332ac31",
    "rain/megaglest_dark_forest.ogg":
        "68a1b0333fde0fcfbf940474752669ce9c83780585cd07714d80d0ea2d26ede4",
    "rain/megaglest_desert.wav":
        "3b4ae0f78fe971d8af259c1fc022dc512106dee2fd39aa9581e311d014ab2430",
    "rain/megaglest_birch_forest.ogg":
        "413e9b38274d88524bb492fb8f81c535f4179abd3af8332e256637607ad48db9",
    "rain/flightgear_rain.wav":
        "cd3ac7c86720aad9e7af71a4f1702f8b24bc72c58f2931e102f2cef7d054deb1",
    "rain/flightgear_rain_windshield.wav":
        "b47571eab48f3cd01d89b2b638f345d4d26c7f16287a11678e0bbb55bdca3948",
    "rain/flare_rain_part1.flac":
        "b83f90a8163d08cf1e6044ce25e4fda5beb03891b7b95ad5eb107e6a3b486c86",
    "rain/flare_rain_part2.flac":
        "f91ceed8734647d152cd604ac29ace81601d6f989cb3b9074f6eeb373cfaa198",
    "rain/plee_the_bear_rain_part1.flac":
        "838d2c78073c87f29bce6324518cc15ead8c4e19c1b398fda73f6db0bd6c5bb2",
    "rain/plee_the_bear_rain_part2.flac":
        "e37009d942b937a7b6fc8f6cf09415807606953dde545d1efaabbcf2a687e1a0",
    "rain/0ad_rain_11_part1.flac":
        "16e6c75eddd12ee6b54562b96335671777c78e9449f8f24fe3d72a867f0cdd78",
    "rain/0ad_rain_11_part2.flac":
        "aa4b2bf81f0c064da02be562a05ba81253920f711d2523ce0ffdd5b661535905",
    "rain/openclonk_stereo_rain.ogg":
        "64222b9c3bf71db82e0d7b7059d1cea4ac3e959658a374c61aeebb39456942ff",
    "rain/redeclipse_rain.ogg":
        "f3ec76ecd54eb1010164c1d64eb86c072e84659ff40e80251d3d4d7cf34bac42",
    "rain/7kaa_rain.wav":
        "04c17493d1969fb5f991540485bc75797b5aef99918e44c08a9018129564ec94",
    "rain/scorched3d_rain.wav":
        "1121b04160e55c0b7ae6aafb3d519d39a1924b2ede986e1aca4e8dc94f14b4cb",
    "rain_holdout/ardentryst_rain_loop.ogg":
        "195238fcc87b0caffda86b82c0cd3e324a221ee3710389080eecc499c0857fd3",
    "rain_holdout/gcompris_rain_in_garden.ogg":
        "7fc7b8b75b3deaec65e30d87364641bf2021956e2201b8c6890191d694d03b7e",
    "rain_holdout/redeclipse_stormrain.ogg":
        "4deeedaf3565bb1accdefe00fc92af99009d0631f5efd88c873f6853eec4b8f2",
}


# ----------------------------------------------------------------------------------------
# package access

def deb_path(debs: Path, package: str, version: str) -> Path:
    name = f"{package}_{version.replace(':', '%3a')}_"
    hits = sorted(p for p in debs.glob(f"{package}_*.deb") if p.name.startswith(name))
    if not hits:
        raise FileNotFoundError(f"{package} {version}: no .deb in {debs} "
                                f"(run with --download, or `apt-get download {package}={version}`)")
    return hits[0]


def download(debs: Path, packages: set[tuple[str, str]]) -> None:
    debs.mkdir(parents=True, exist_ok=True)
    for package, version in sorted(packages):
        try:
            deb_path(debs, package, version)
        except FileNotFoundError:
            subprocess.run(["apt-get", "download", f"{package}={version}"], cwd=debs, check=True)


def deb_member(deb: Path, member: str, workdir: Path) -> Path:
    """Extract one file of a .deb (streamed, so multi-GB packages are fine) to workdir."""
    target = workdir / deb.name / member
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for info in tar:
                if info.name.lstrip("./") == member:
                    with tar.extractfile(info) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    break
            else:
                raise FileNotFoundError(f"{deb.name}: no member {member}")
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()
    return target


def rcc_entry(rcc: bytes, wanted: str) -> bytes:
    """One file of a Qt resource (.rcc) bundle, format version 1-3, zlib or stored."""
    magic, version, tree, data, names = struct.unpack(">4sIIII", rcc[:20])
    if magic != b"qres":
        raise ValueError("not a Qt rcc file")
    entry_size = 22 if version >= 2 else 14

    def name(offset: int) -> str:
        o = names + offset
        (length,) = struct.unpack(">H", rcc[o:o + 2])
        return rcc[o + 6:o + 6 + 2 * length].decode("utf-16-be")

    def walk(index: int, path: str):
        o = tree + index * entry_size
        name_off, flags = struct.unpack(">IH", rcc[o:o + 6])
        here = f"{path}/{name(name_off)}" if index else ""
        if flags & 2:  # directory
            count, first = struct.unpack(">II", rcc[o + 6:o + 14])
            for child in range(count):
                yield from walk(first + child, here)
        else:
            (offset,) = struct.unpack(">I", rcc[o + 10:o + 14])
            p = data + offset
            (size,) = struct.unpack(">I", rcc[p:p + 4])
            blob = rcc[p + 4:p + 4 + size]
            if flags & 4:
                raise ValueError(f"{here}: zstd-compressed rcc entries are not supported")
            yield here.lstrip("/"), (zlib.decompress(blob[4:]) if flags & 1 else blob)

    for path, blob in walk(0, ""):
        if path == wanted:
            return blob
    raise FileNotFoundError(f"rcc: no entry {wanted}")


def c4group_entry(group: Path, entry: str, debs: Path, workdir: Path) -> bytes:
    """One file of an OpenClonk group, unpacked with c4group from the openclonk package."""
    tool = deb_member(deb_path(debs, "openclonk", "8.1-3"), "usr/bin/c4group", workdir)
    tool.chmod(0o755)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        copy = Path(tmp) / group.name
        shutil.copyfile(group, copy)
        run = subprocess.run([str(tool), str(copy), "-x"], check=False, capture_output=True,
                             text=True)
        if run.returncode:
            raise RuntimeError(f"c4group failed on {group.name}: {run.stdout}{run.stderr}")
        return (copy / entry).read_bytes()


def source_bytes(item: Item, debs: Path, workdir: Path) -> bytes:
    member = deb_member(deb_path(debs, item.package, item.version), item.member, workdir)
    if item.entry is None:
        return member.read_bytes()
    if member.suffix == ".zip":
        with zipfile.ZipFile(member) as zf:
            return zf.read(item.entry)
    if member.suffix == ".rcc":
        return rcc_entry(member.read_bytes(), item.entry)
    if member.suffix in (".ocg", ".ocd"):
        return c4group_entry(member, item.entry, debs, workdir)
    raise ValueError(f"{item.out}: unknown container {member.suffix}")


# ----------------------------------------------------------------------------------------
# building and checking

def pcm_sha256(path: Path) -> str:
    import soundfile as sf
    samples, rate = sf.read(path, dtype="int16", always_2d=True)
    h = hashlib.sha256(f"{rate}:{samples.shape[1]}:".encode())
    h.update(samples.tobytes())
    return h.hexdigest()


def file_hash(item: Item, path: Path) -> str:
    return pcm_sha256(path) if item.cut else hashlib.sha256(path.read_bytes()).hexdigest()


def build(item: Item, debs: Path, workdir: Path, root: Path) -> Path:
    import numpy as np
    import soundfile as sf
    out = root / item.out
    out.parent.mkdir(parents=True, exist_ok=True)
    raw = source_bytes(item, debs, workdir)
    if item.cut is None:
        out.write_bytes(raw)
        return out
    audio, rate = sf.read(io.BytesIO(raw), dtype="float64", always_2d=True)
    start = round(item.cut[0] * rate)
    stop = audio.shape[0] if item.cut[1] is None else round(item.cut[1] * rate)
    part = audio[start:stop]
    peak = float(np.max(np.abs(part)))
    if peak > 1.0:
        raise ValueError(f"{item.out}: decoded peak {peak:.3f} would clip in 16-bit")
    sf.write(out, part, rate, format="FLAC", subtype="PCM_16")
    return out


# ----------------------------------------------------------------------------------------
# content duplicates (decoded audio, not file hashes)

def fingerprint(path: Path, hop_s: float = 0.01):
    """Per-band log-energy fluctuations, 12 log-spaced bands in 200-5000 Hz, 10 ms frames.

    Rate-independent (works across resampled or re-encoded copies). Slow level changes are
    removed with a 1 s moving mean; each band is standardised.
    """
    import numpy as np
    import soundfile as sf
    from scipy import signal
    x, sr = sf.read(path, always_2d=True)
    m = x.mean(1)
    n, h = round(0.04 * sr), round(hop_s * sr)
    f, _, z = signal.stft(m, sr, nperseg=n, noverlap=n - h, boundary=None, padded=False)
    power = np.abs(z) ** 2
    edges = np.geomspace(200, 5000, 13)
    bands = np.log(np.stack([power[(f >= lo) & (f < hi)].sum(0)
                             for lo, hi in itertools.pairwise(edges)]) + 1e-10)
    k = int(1 / hop_s)
    ker = np.ones(k) / k
    count = np.convolve(np.ones(bands.shape[1]), ker, "same")
    bands = bands - np.stack([np.convolve(r, ker, "same") for r in bands]) / count
    bands = bands[:, 5:-5]
    bands = (bands - bands.mean(1, keepdims=True)) / (bands.std(1, keepdims=True) + 1e-9)
    return bands, len(m) / sr


def best_alignment(a, b, min_overlap: int):
    """Largest normalised cross-correlation of two fingerprints over all lags (FFT)."""
    import numpy as np
    na, nb = a.shape[1], b.shape[1]
    size = 1 << int(np.ceil(np.log2(na + nb)))
    num = np.zeros(na + nb - 1)
    for ra, rb in zip(a, b):
        full = np.fft.irfft(np.fft.rfft(rb, size) * np.conj(np.fft.rfft(ra, size)), size)
        num += full[np.r_[size - (na - 1):size, 0:nb]]
    ca = np.concatenate([[0], np.cumsum((a ** 2).sum(0))])
    cb = np.concatenate([[0], np.cumsum((b ** 2).sum(0))])
    lags = np.arange(-(na - 1), nb)
    s, e = np.maximum(lags, 0), np.minimum(lags + na, nb)
    r = num / np.sqrt((ca[e - lags] - ca[s - lags]) * (cb[e] - cb[s]) + 1e-9)
    r[(e - s) < min_overlap] = 0
    i = int(np.argmax(r))
    return float(r[i]), int(lags[i]), int(e[i] - s[i])


def dedup(paths: list[Path], threshold: float = 0.4) -> int:
    """Print pairs of recordings that share audio (score >= threshold); return their count.

    Calibration (collection run): an excerpt resampled 44.1 -> 32 kHz scores 0.999; an 8 s
    excerpt downmixed and resampled to 11.025 kHz 0.84; a 48 kHz excerpt requantised to 8 bits
    at 22.05 kHz with added noise 0.44. Unrelated rain recordings score below 0.36.
    """
    files = sorted(p for d in paths for p in (sorted(d.iterdir()) if d.is_dir() else [d])
                   if p.suffix.lower() in {".ogg", ".wav", ".flac"})
    prints = {p: fingerprint(p) for p in files}
    found = 0
    for p, q in itertools.combinations(files, 2):
        (a, da), (b, db) = prints[p], prints[q]
        r, lag, overlap = best_alignment(a, b, int(min(3.0, 0.8 * min(da, db)) / 0.01))
        flag = "DUPLICATE" if r >= threshold else ""
        if r >= threshold or r >= 0.3:
            print(f"{r:6.3f}  lag {lag * 0.01:8.2f} s  overlap {overlap * 0.01:6.2f} s  "
                  f"{p.parent.name}/{p.name} ~ {q.parent.name}/{q.name} {flag}")
        found += r >= threshold
    print(f"{len(files)} files, {found} pair(s) at or above {threshold}")
    return found


# ----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--debs", type=Path, default=Path("/tmp/debs"),
                    help="folder of downloaded .debs (default /tmp/debs)")
    ap.add_argument("--download", action="store_true", help="apt-get download missing .debs")
    ap.add_argument("--out", type=Path, default=HERE, help="the data/ folder to write")
    ap.add_argument("--verify-only", action="store_true",
                    help="only check the files under --out against the recorded hashes")
    ap.add_argument("--dedup", nargs="+", type=Path, metavar="PATH",
                    help="report content duplicates among these files/folders and exit")
    args = ap.parse_args(argv)

    if args.dedup:
        dedup(args.dedup)
        return 0
    bad = 0
    if not args.verify_only:
        packages = {(i.package, i.version) for i in ITEMS}
        if any(i.entry and i.member.endswith((".ocg", ".ocd")) for i in ITEMS):
            packages.add(("openclonk", "8.1-3"))
        if args.download:
            download(args.debs, packages)
        with tempfile.TemporaryDirectory(prefix="collect_rain.") as tmp:
            for item in ITEMS:
                build(item, args.debs, Path(tmp), args.out)
                print(f"wrote {item.out}")
    for item in ITEMS:
        path = args.out / item.out
        got = file_hash(item, path)
        want = EXPECTED.get(item.out)
        status = "ok" if got == want else ("NO HASH RECORDED" if want is None else "MISMATCH")
        bad += status != "ok"
        print(f"{status:16s} {item.out}  {got}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
