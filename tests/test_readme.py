"""The README's promises, run as a new user runs them: from the repository root of a fresh
clone, with the package installed."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def readme_commands() -> list[str]:
    """The shell lines of the README's opening code block."""
    return [line for line in code_blocks("sh")[0].splitlines()
            if line and not line.startswith("#")]


def test_readme_opens_with_exactly_two_setup_commands():
    assert README.index("```sh") < README.index("\n## ")
    assert len(readme_commands()) == 2


def test_ci_runs_the_readme_test_command_verbatim():
    ci_lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert readme_commands()[1] in ci_lines


def test_readme_is_short():
    assert len(README.splitlines()) <= 150


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A fresh clone of the committed checkout (what a new user gets)."""
    root = tmp_path_factory.mktemp("clone") / "raingan"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(root)],
                   check=True, capture_output=True, text=True)
    return root


def in_clone(clone: Path, *command: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env_bin = str(Path(sys.executable).parent)
    return subprocess.run(list(command), cwd=clone, capture_output=True, text=True,
                          timeout=timeout,
                          env={"PATH": f"{env_bin}:/usr/bin:/bin", "HOME": str(clone)})


def test_python_examples_run_from_the_repository_root(clone):
    blocks = code_blocks("python")
    assert len(blocks) >= 2
    for block in blocks:
        result = in_clone(clone, sys.executable, "-c", block)
        assert result.returncode == 0, result.stderr
    assert "SourceStats(" in in_clone(clone, sys.executable, "-c", blocks[0]).stdout


def test_python_m_raingan_and_the_spec_tests_run_from_the_repository_root(clone):
    result = in_clone(clone, sys.executable, "-m", "raingan", "--help")
    assert result.returncode == 0 and "render" in result.stdout, result.stderr
    result = in_clone(clone, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                      "-n", "0", "tests/test_spec.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


def test_cpp_host_commands_run_as_printed_from_the_repository_root(clone):
    assert shutil.which("cmake", path=str(Path(sys.executable).parent)) or shutil.which("cmake")
    commands = [block for block in code_blocks("sh") if "cmake" in block]
    assert len(commands) == 1
    result = in_clone(clone, "bash", "-euo", "pipefail", "-c", commands[0], timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning:" not in result.stdout + result.stderr  # -Wall -Wextra, clean
    assert "underruns" in result.stdout
    audio, rate = sf.read(clone / "rain.wav", dtype="float32")
    assert rate == 48_000 and audio.shape == (480_000, 2)
    assert np.all(np.isfinite(audio)) and np.abs(audio).max() <= 1.0
    assert np.abs(audio[-48_000:]).max() > 0  # rain to the end, not a silent tail

    host = clone / "build" / "cpp_host" / "raingan_cpp_host"
    missing = in_clone(clone, str(host), "x.wav", "--model", "none.onnx")
    assert missing.returncode == 2 and "no such model file" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    assert not (clone / "x.wav").exists()
