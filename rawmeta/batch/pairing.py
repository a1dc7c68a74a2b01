"""Finding RAW files and the JPEGs rendered from them, for whole-folder work.

A RAW pairs with the JPEG whose name a pattern gives from the RAW's stem:
the default ``{stem}.jp*g`` pairs ``IMG_0001.CR2`` with ``IMG_0001.JPG`` or
``img_0001.jpeg`` in the same folder. Names are compared case-insensitively;
the pattern's last part may hold shell wildcards (``* ? [..]``) and the parts
before it a relative folder (``../jpeg/{stem}.jpg``).
"""
from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rawmeta.errors import UsageError

#: Extensions (lower case) taken for camera RAW files when a folder is scanned.
RAW_SUFFIXES = frozenset({
    ".3fr", ".arw", ".cr2", ".cr3", ".crw", ".dcr", ".dng", ".erf", ".iiq", ".k25", ".kdc", ".mef", ".mos",
    ".mrw", ".nef", ".nrw", ".orf", ".pef", ".raf", ".raw", ".rw2", ".rwl", ".sr2", ".srf", ".srw", ".x3f",
})
#: Extensions (lower case) taken for JPEG files.
JPEG_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe"})
#: The default pairing pattern.
DEFAULT_PATTERN = "{stem}.jp*g"


@dataclass(frozen=True)
class Pair:
    """A RAW and the JPEG rendered from it."""

    raw: Path
    jpeg: Path


@dataclass
class Pairing:
    """The outcome of pairing: pairs, and the files left without a partner (with the reason)."""

    pairs: list[Pair] = field(default_factory=list)
    unpaired_raws: list[tuple[Path, str]] = field(default_factory=list)
    unpaired_jpegs: list[Path] = field(default_factory=list)


def is_raw(path: Path) -> bool:
    return path.suffix.lower() in RAW_SUFFIXES


def is_jpeg(path: Path) -> bool:
    return path.suffix.lower() in JPEG_SUFFIXES


def scan(paths: Iterable[Path], recursive: bool = False) -> tuple[list[Path], list[Path]]:
    """The RAW and JPEG files named by ``paths`` (files, or folders to list), each sorted and without repeats.

    Hidden files (names starting with ``.``, such as rawmeta's own temp
    files) are left out of folder listings.

    Raises
    ------
    UsageError
        If a path does not exist, or a file named directly is neither a RAW
        nor a JPEG by its extension.
    """
    raws: set[Path] = set()
    jpegs: set[Path] = set()
    for path in paths:
        if path.is_dir():
            for found in _listing(path, recursive):
                (raws if is_raw(found) else jpegs if is_jpeg(found) else set()).add(found)
        elif path.is_file():
            if not (is_raw(path) or is_jpeg(path)):
                raise UsageError(f"{path} is neither a RAW nor a JPEG by its extension")
            (raws if is_raw(path) else jpegs).add(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    return sorted(raws), sorted(jpegs)


def _listing(folder: Path, recursive: bool) -> Iterable[Path]:
    walker = os.walk(folder) if recursive else [(folder, [], [e.name for e in os.scandir(folder) if e.is_file()])]
    for root, dirs, names in walker:
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in names:
            path = Path(root) / name
            if not name.startswith(".") and path.is_file():
                yield path


def check_pattern(pattern: str) -> str:
    """``pattern`` if it is a usable pairing pattern; UsageError naming the problem otherwise."""
    try:
        sample = pattern.format(stem="IMG_0001")
    except (KeyError, IndexError, ValueError):
        raise UsageError(f"pairing pattern {pattern!r} may use only the placeholder {{stem}}") from None
    if "{stem}" not in pattern:
        raise UsageError(f"pairing pattern {pattern!r} must contain {{stem}}")
    if os.path.isabs(sample) or sample.endswith(("/", os.sep)) or Path(sample).name in ("", ".", ".."):
        raise UsageError(f"pairing pattern {pattern!r} must name a file relative to the RAW's folder")
    return pattern


def pair(raws: Iterable[Path], jpegs: Iterable[Path] = (), pattern: str = DEFAULT_PATTERN) -> Pairing:
    """Pair each RAW with the one JPEG ``pattern`` names for it.

    Parameters
    ----------
    raws : iterable of Path
        RAW files.
    jpegs : iterable of Path
        JPEGs found beside them; those no RAW claims are reported as
        unpaired (they may be JPEG-only shots).
    pattern : str
        See the module docstring.

    Returns
    -------
    Pairing
        A RAW with no JPEG, with several, or whose JPEG another RAW also
        claims (``IMG_1.CR2`` and ``IMG_1.DNG``) is unpaired with the reason.
    """
    check_pattern(pattern)
    listings: dict[Path, list[Path]] = {}
    claims: dict[Path, list[Path]] = {}
    result = Pairing()
    for raw in raws:
        relative = Path(pattern.format(stem=glob_escape(raw.stem)))
        folder = (raw.parent / relative.parent).resolve()
        if folder not in listings:
            listings[folder] = sorted(_folder_jpegs(folder))
        found = [j for j in listings[folder] if fnmatch.fnmatch(j.name.lower(), relative.name.lower())]
        if not found:
            result.unpaired_raws.append((raw, f"no JPEG named {relative} beside it"))
        elif len(found) > 1:
            result.unpaired_raws.append((raw, "several JPEGs match it: " + ", ".join(j.name for j in found)))
        else:
            claims.setdefault(found[0], []).append(raw)
    for jpeg, claimants in sorted(claims.items()):
        if len(claimants) == 1:
            result.pairs.append(Pair(claimants[0], jpeg))
        else:
            names = ", ".join(r.name for r in claimants)
            result.unpaired_raws += [(r, f"{jpeg.name} matches several RAWs: {names}") for r in claimants]
    claimed = set(claims)
    result.unpaired_jpegs = sorted(j for j in jpegs if j.resolve() not in claimed)
    result.unpaired_raws.sort()
    return result


def glob_escape(text: str) -> str:
    """``text`` with fnmatch's special characters made literal."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _folder_jpegs(folder: Path) -> Iterable[Path]:
    if folder.is_dir():
        yield from (p.resolve() for p in _listing(folder, recursive=False) if is_jpeg(p))
