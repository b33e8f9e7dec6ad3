"""The codebase's own rules: layers, module size, reference docs, no history outside the
changelog."""

import re
import subprocess
import sys
from pathlib import Path

import raingan

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
#: Product code: what installs as the package, and the native core.
PRODUCT = [REPO / "src", REPO / "runtime", REPO / "training", REPO / "export", REPO / "bindings"]
MAX_MODULE_LINES = 400


def tracked_files(*suffixes: str) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, check=True, capture_output=True, text=True).stdout
    return [REPO / name for name in listed.splitlines()
            if name.endswith(suffixes) and (REPO / name).is_file()]


def test_import_layers_and_no_cycles():
    """pyproject.toml's import-linter contracts, on the installed package."""
    result = subprocess.run([str(BIN / "lint-imports"), "--no-cache", str(REPO / "pyproject.toml")],
                            capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_no_product_module_is_over_400_lines():
    long = {str(path.relative_to(REPO)): n
            for path in tracked_files(".py", ".cpp", ".hpp", ".h")
            if any(path.is_relative_to(root) for root in PRODUCT)
            and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_no_development_history_outside_the_changelog():
    pattern = re.compile(r"session [0-9]+", re.IGNORECASE)
    found = [f"{path.relative_to(REPO)}:{i}" for path in tracked_files(".py", ".md", ".cpp", ".hpp")
             if path.name != "CHANGELOG.md" and not path.is_relative_to(REPO / "data")
             for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if pattern.search(line)]
    assert found == []


def test_reference_docs_build_strictly_with_a_page_per_public_name(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run([str(BIN / "mkdocs"), "build", "--strict", "--site-dir", str(site)],
                            capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr
    for name in raingan.__all__:
        if name == "__version__":
            continue
        page = site / "reference" / name / "index.html"
        assert page.is_file(), name
        html = page.read_text(encoding="utf-8")
        assert f"raingan.{name}" in html
        # mkdocstrings rendered the docstring, not just the heading
        assert 'class="doc doc-contents' in html or "doc-contents" in html, name
    for guide in ("game-audio", "sound-design", "training"):
        assert (site / "guides" / guide / "index.html").is_file()


def test_public_names_resolve_and_have_docstrings():
    for name in raingan.__all__:
        if name != "__version__":
            assert getattr(raingan, name).__doc__, name
    assert set(raingan.__all__) <= set(dir(raingan))
