"""The Python examples run end to end (sound card replaced by a stand-in that pulls buffers)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

FAKE_SOUNDDEVICE = textwrap.dedent('''
    """Stand-in for python-sounddevice: pulls 20 buffers through the callback on entry."""
    import numpy as np

    class OutputStream:
        def __init__(self, samplerate, channels, dtype, callback):
            self.channels, self.callback = channels, callback

        def __enter__(self):
            peak = 0.0
            for _ in range(20):
                out = np.zeros((512, self.channels), np.float32)
                self.callback(out, 512, None, None)
                peak = max(peak, float(np.abs(out).max()))
            print(f"fake sound card peak {peak:.4f}")
            return self

        def __exit__(self, *exc):
            return False
''')


def test_live_playback_fills_the_sound_cards_buffers(tiny_model, tmp_path):
    (tmp_path / "sounddevice.py").write_text(FAKE_SOUNDDEVICE)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run([sys.executable, str(EXAMPLES / "live_playback.py"), "--model",
                             str(tiny_model), "--seed", "1"], input="-6\nw 0.5\nw 7\n",
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "fake sound card peak" in result.stdout and "peak 0.0000" not in result.stdout
    assert "width must be 0 to 1" in result.stdout
    assert result.stdout.count("SourceStats(") == 3


def test_render_stems_example_writes_stems_and_manifest(tiny_model, tmp_path):
    out = tmp_path / "stems"
    result = subprocess.run([sys.executable, str(EXAMPLES / "render_stems.py"), str(out),
                             "--model", str(tiny_model), "--count", "2", "--seconds", "3"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["stems"]) == 2 and (out / "stem_02.wav").is_file()
