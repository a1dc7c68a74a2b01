"""The package layout: what each subpackage may import, the public API, the install and the exit codes."""
from __future__ import annotations

import ast
import builtins
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import rawmeta
from rawmeta import errors

from .conftest import REPO
from .helpers import run_process

PACKAGE = REPO / "rawmeta"
#: Helpers at the top of the package, which every subpackage may import.
TOP_LEVEL = {"errors", "progress", "resample", "allocator", "colour", "threads"}
#: Subpackage -> the other subpackages it may import (docs/ARCHITECTURE.md draws the same).
MAY_IMPORT = {
    "format": set(),
    "io": {"format"},
    "metrics": {"io"},
    "alignment": {"format", "io"},
    "restore": {"format", "io", "metrics"},
    "embed": {"format", "io", "alignment", "restore", "metrics"},
    "batch": {"format", "io", "alignment", "restore", "metrics", "embed"},
    "benchmarks": {"format", "io", "alignment", "restore", "metrics", "embed", "batch"},
}


def _imports(path: Path) -> set[str]:
    """The rawmeta modules ``path`` imports anywhere (also inside functions), as dotted names."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "rawmeta":
            found |= {f"rawmeta.{a.name}" for a in node.names} if node.module == "rawmeta" else {node.module}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "rawmeta"}
    return found


def _subpackages() -> list[str]:
    return sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())


def test_every_subpackage_has_import_rules_and_says_them():
    assert set(_subpackages()) == set(MAY_IMPORT)
    for name in MAY_IMPORT:
        doc = ast.get_docstring(ast.parse((PACKAGE / name / "__init__.py").read_text()))
        assert doc and "May import" in doc, name


@pytest.mark.parametrize("subpackage", sorted(MAY_IMPORT))
def test_subpackages_import_only_what_their_layer_allows(subpackage):
    allowed = MAY_IMPORT[subpackage] | TOP_LEVEL | {subpackage}
    for path in sorted((PACKAGE / subpackage).rglob("*.py")):
        for module in _imports(path):
            first = module.split(".")[1] if "." in module else ""
            assert first in allowed, f"{path.relative_to(REPO)} imports {module}"


def test_top_level_helpers_import_no_subpackage():
    for name in TOP_LEVEL:
        assert not {m for m in _imports(PACKAGE / f"{name}.py") if m.split(".")[1] not in TOP_LEVEL}, name


def test_the_format_layer_loads_without_torch_or_pillow():
    modules = sorted(f"rawmeta.format.{p.stem}" for p in (PACKAGE / "format").glob("*.py") if p.stem != "__init__")
    code = (f"import sys; import {', '.join(modules)}; "
            "print(sorted(m for m in ('torch', 'PIL') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert len(modules) >= 10


def test_every_public_name_resolves_and_the_readme_imports_work():
    for name in rawmeta.__all__:
        assert getattr(rawmeta, name) is not None, name
    from rawmeta import (  # noqa: F401  the README's imports
        embed_bytes,
        make_payload,
        pack,
        read_raw,
        reconstruct,
        restore_bytes,
        transfer_bytes,
        unpack,
    )

    assert callable(reconstruct)


def test_pyproject_installs_every_subpackage_and_the_cli_as_rawmeta_cli():
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"rawmeta.cli": "cli"}
    assert set(setuptools["packages"]) == {"rawmeta", "rawmeta.cli", *(f"rawmeta.{s}" for s in _subpackages())}
    import rawmeta.cli.main

    assert Path(rawmeta.cli.main.__file__).resolve().parent == REPO / "cli"


def test_the_installed_command_and_python_m_rawmeta_start():
    assert run_process("--version", check_rc=0).stdout.startswith("rawmeta, version")
    proc = subprocess.run([sys.executable, "-m", "rawmeta", "--help"], capture_output=True, text=True, check=True)
    assert proc.stdout.startswith("Usage: rawmeta ")


def test_every_error_s_exit_code_is_listed_in_the_help():
    classes, todo = [], [errors.RawmetaError]
    while todo:
        cls = todo.pop()
        classes.append(cls)
        todo += cls.__subclasses__()
    listed = set(errors.EXIT_CODE_MEANINGS)
    assert {cls.exit_code for cls in classes if cls is not errors.RawmetaError} <= listed
    assert {errors.ExitCode.INTERNAL, errors.ExitCode.INTERRUPTED} <= listed


def test_every_error_class_of_the_library_and_the_cli_is_defined_in_errors():
    """ARCHITECTURE.md: every error class lives in ``rawmeta/errors.py``. An exception class is one whose base
    is a built-in exception or an error class of ``errors``; the benchmarks are a tool beside the library and
    keep their own."""
    exceptions = {name for module in (builtins, errors) for name, value in vars(module).items()
                  if isinstance(value, type) and issubclass(value, BaseException)}
    elsewhere = []
    for path in [*PACKAGE.rglob("*.py"), *(REPO / "cli").rglob("*.py")]:
        if path == PACKAGE / "errors.py" or (PACKAGE / "benchmarks") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            bases = [b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in getattr(node, "bases", [])]
            if isinstance(node, ast.ClassDef) and exceptions & set(bases):
                elsewhere.append(f"{path.relative_to(REPO)}: {node.name}")
    assert elsewhere == []


@pytest.mark.parametrize("module", ["rawmeta.restore.patchwise", "rawmeta.metrics.evaluation"])
def test_the_main_entry_points_examples_run(module):
    """The Examples of the public API's main entry points run and give what they show (``reconstruct``,
    ``evaluate``); ``embed_file`` and ``restore_file`` want a sample file made by the library (issue #35)."""
    import doctest
    import importlib

    results = doctest.testmod(importlib.import_module(module))
    assert results.attempted > 0 and results.failed == 0
