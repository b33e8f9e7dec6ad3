"""Issue 35's bars for the bundled streaming model, judged as a user would judge them.

The bundled model trained on the first two thirds of the 15 recordings of data/rain other
than megaglest_birch_forest (its birds are no rain). Their last thirds are held-out real
rain, the model never heard them, and are the reference here. Eight seeds of 30 s of default
`raingan render` output are judged against them with the installed `raingan eval`; the
training thirds, judged against the same reference, are the real yardstick, and each
render's coloured-noise twin the poor one.

Held here (`python benchmarks/judges.py --seeds 0-19` gives the full figures, MODEL.md):

- **modulation line** at most 3 dB above the reference's, anywhere from the lowest
  frequency judged to 200 Hz: no frame-rate checkerboard, chunk rate or latent grid (the
  chunk model it replaced: +12 dB at 86 Hz);
- **texture distance** well below the noise twins' (at most 0.8 of it). The streaming
  architecture trains adversarially only, so no loss uses these statistics;
- **classifier test**: a logistic regression on the judging features tells the renders'
  windows from the reference's with accuracy at most 0.80 (here 0.68; 20 seeds x 60 s: 0.77).
  The drops in the excitation are fitted to training statistics of the training thirds
  (:mod:`raingan.training.drops`), which no judge uses.

Not yet met, so not asserted: a texture distance within 1.3x the training thirds' (3.2x
here, 3.4x over 20 seeds x 60 s).
"""

import json
from pathlib import Path

import pytest
import soundfile as sf
from training_cli import run

from raingan.core.audio_io import read_audio
from raingan.eval.bars import split_thirds

DATA = Path(__file__).resolve().parents[1] / "data" / "rain"
#: Recordings of data/rain the bundled model was not trained on.
LEFT_OUT = ("megaglest_birch_forest.ogg",)
SEEDS = range(8)
SECONDS = 30
#: Issue 35: no modulation line more than this above the reference's.
MODULATION_LINE_DB = 3.0
#: The model's texture distance, as a share of its noise twins'.
NOISE_SHARE = 0.8
#: Issue 35: the classifier tells the renders from held-out rain at most this often.
CLASSIFIER_ACCURACY = 0.80


def corpus() -> list[Path]:
    return sorted(p for p in DATA.iterdir()
                  if p.suffix in (".wav", ".ogg", ".flac") and p.name not in LEFT_OUT)


def write_thirds(out: Path) -> tuple[list[Path], list[Path]]:
    """Every corpus recording's first two thirds and last third as files in ``out``."""
    heads, tails = [], []
    for path in corpus():
        recording = read_audio(path)
        for part, samples, paths in zip(("head", "tail"), split_thirds(recording.samples),
                                        (heads, tails)):
            paths.append(out / f"{path.stem}_{part}.wav")
            sf.write(paths[-1], samples, recording.sample_rate_hz, subtype="FLOAT")
    return heads, tails


def evaluate(references: list[Path], candidates: list[Path], json_path: Path,
             *options: str) -> dict:
    result = run("eval", "--ref", *references, "--cand", *candidates, "--json", json_path,
                 *options)
    assert result.returncode == 0, result.stderr
    return json.loads(json_path.read_text())


@pytest.mark.slow
def test_default_renderings_meet_issue_35_bars_against_held_out_rain(tmp_path):
    heads, tails = write_thirds(tmp_path)
    assert len(tails) == 15
    renders = []
    for seed in SEEDS:
        renders.append(tmp_path / f"seed_{seed}.wav")
        result = run("render", renders[-1], "--seconds", SECONDS, "--seed", seed)
        assert result.returncode == 0, result.stderr

    model = evaluate(tails, renders, tmp_path / "model.json", "--noise-baseline")
    real = evaluate(tails, heads, tmp_path / "real.json")
    overall, noise = model["overall"], model["noise_overall"]

    assert overall["modulation_peak_db"] <= MODULATION_LINE_DB
    per_seed = [c["modulation_peak_db"] for c in model["candidates"]]
    assert all(line is not None and line <= MODULATION_LINE_DB for line in per_seed)
    assert overall["mean_distance"] <= NOISE_SHARE * noise["mean_distance"]
    assert model["classifier"]["candidates"]["accuracy"] <= CLASSIFIER_ACCURACY
    # The yardstick is sound: real rain is nearer the reference than any render.
    assert real["overall"]["mean_distance"] < overall["mean_distance"]
