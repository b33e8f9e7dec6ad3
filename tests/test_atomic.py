"""Outputs appear whole, with ordinary permissions, or not at all."""

import os

import pytest

from raingan.core.atomic import atomic_output
from raingan.core.errors import OutputPathError


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_finished_output_has_the_permissions_of_any_new_file(tmp_path):
    target = tmp_path / "out.txt"
    with atomic_output(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        tmp.write_text("rain")
    assert target.read_text() == "rain"
    assert target.stat().st_mode & 0o777 == 0o666 & ~current_umask()
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="writer failed"):
        with atomic_output(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("writer failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(OutputPathError, match="does not exist"):
        with atomic_output(tmp_path / "no" / "out.txt"):
            pass
