"""examples/unity/RainGANSource.cs against raingan.h and libraingan.so: the same functions with
as many parameters, the same config layout and ABI version (no Unity here to compile it)."""

import ctypes
import re
from pathlib import Path

import raingan
from conftest import REPO

SCRIPT = (REPO / "examples" / "unity" / "RainGANSource.cs").read_text()
HEADER = (REPO / "bindings" / "include" / "raingan.h").read_text()


def header_functions() -> dict[str, int]:
    """raingan.h's functions and their parameter counts."""
    found = {}
    for name, params in re.findall(r"RAINGAN_API\s+[\w\s\*]+?\b(raingan_\w+)\s*\(([^)]*)\)",
                                   HEADER):
        params = " ".join(params.split())
        found[name] = 0 if params in ("", "void") else params.count(",") + 1
    return found


def script_functions() -> dict[str, int]:
    """The C# script's [DllImport] functions and their parameter counts."""
    found = {}
    for name, params in re.findall(r"\[DllImport\(Library\)\][^;]*?\b(raingan_\w+)\(([^)]*)\);",
                                   SCRIPT):
        found[name] = 0 if not params.strip() else params.count(",") + 1
    return found


def test_every_imported_function_is_declared_and_exported_with_as_many_parameters():
    header, script = header_functions(), script_functions()
    assert len(header) >= 13 and len(script) >= 10
    library = ctypes.CDLL(str(Path(raingan.__file__).parent / "libraingan.so"))
    for name, count in script.items():
        assert header.get(name) == count, (name, count, header.get(name))
        assert hasattr(library, name), name


def test_the_config_struct_and_abi_version_match_the_header():
    header_fields = re.search(r"typedef struct raingan_config \{(.*?)\} raingan_config;", HEADER,
                              re.S).group(1)
    c_types = re.findall(r"^\s*(uint32_t|uint64_t|double|const char\*)\s+\w+;", header_fields,
                         re.M)
    script_fields = re.search(r"public struct Config\s*\{(.*?)\}", SCRIPT, re.S).group(1)
    cs_types = re.findall(r"public (uint|ulong|double|IntPtr) \w+;", script_fields)
    as_c = {"uint": "uint32_t", "ulong": "uint64_t", "double": "double", "IntPtr": "const char*"}
    assert [as_c[t] for t in cs_types] == c_types and len(c_types) == 7
    version = re.search(r"#define RAINGAN_ABI_VERSION (\d+)", HEADER).group(1)
    assert f"AbiVersion = {version};" in SCRIPT
