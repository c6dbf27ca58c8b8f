"""Finding export files: folders walked in order, hashes, the first bytes of a file."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from spendwatch.core.errors import UsageError
from warehouse.ingest.sqlkit import GZIP_MAGIC, HEAD_BYTES
from warehouse.ingest.contract import UnreadableFile

def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes of the file's content, gunzipped when the file is gzip-compressed.

    A UTF-16 file (byte-order mark, or a NUL byte in every other place) is an
    ``UnreadableFile`` naming its encoding: exports are read as UTF-8.
    """
    try:
        with open(path, "rb") as f:
            raw = f.read(size)
        if raw[:2] == GZIP_MAGIC:
            with gzip.open(path, "rb") as g:
                raw = g.read(size)
    except (OSError, EOFError, zlib.error) as e:  # also a truncated or corrupt gzip stream
        raise UnreadableFile(f"{path}: cannot read: {e}") from None
    encoding = utf16(raw)
    if encoding:
        raise UnreadableFile(f"{path}: the file is {encoding} text; spendwatch reads exports as UTF-8: "
                             "save it as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)")
    return raw


def utf16(head: bytes) -> str | None:
    """'UTF-16 (little-endian)' / 'UTF-16 (big-endian)' when the bytes look like UTF-16 text, else None."""
    if head.startswith(b"\xff\xfe"):
        return "UTF-16 (little-endian)"
    if head.startswith(b"\xfe\xff"):
        return "UTF-16 (big-endian)"
    sample = head[:512]
    if len(sample) >= 8:
        odd, even = sample[1::2], sample[0::2]
        if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
            return "UTF-16 (little-endian)"
        if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "UTF-16 (big-endian)"
    return None


def file_sha256(path: Path) -> str:
    """The sha256 of the file's bytes, streamed."""
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError as e:
        raise UnreadableFile(f"{path}: cannot read: {e.strerror or e}") from None


# --------------------------------------------------------------------------- many files


def iter_export_files(paths: Iterable[str | os.PathLike],
                      skipped: Callable[[Path, str], None] | None = None) -> list[Path]:
    """The export files under the given files and folders: recursive, sorted, no dotfiles or README*.

    A folder is walked without following symlinks out of it: a symlink (to a file or a
    folder) whose target lies outside the folder is reported to ``skipped`` with the
    reason and never read; one whose target lies inside is read once, at its real place.
    A path given directly (not found by walking) is read as given.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            candidates = _walk(p, skipped)
        elif p.is_file():
            candidates = [p]
        else:
            raise UsageError(f"{p}: no such file or folder")
        for f in candidates:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def _walk(root: Path, skipped: Callable[[Path, str], None] | None) -> list[Path]:
    """The visible files under ``root``, sorted by relative path, symlinks leading outside it left out."""
    real_root = root.resolve()
    found: list[Path] = []
    for folder, dirs, names in os.walk(root, followlinks=False):
        here = Path(folder)
        for d in list(dirs):
            sub = here / d
            if _hidden(sub.relative_to(root)):
                dirs.remove(d)
            elif sub.is_symlink():
                dirs.remove(d)  # never descended: its real place, if inside, is walked anyway
                if not _inside(sub, real_root) and skipped:
                    skipped(sub, f"symlink to a folder outside {root}, not followed")
        for n in names:
            f = here / n
            if _hidden(f.relative_to(root)):
                continue
            if f.is_symlink():  # inside: read at its real place (walked anyway); outside: never read
                if not _inside(f, real_root) and skipped:
                    skipped(f, f"symlink to a file outside {root}, not read")
                continue
            if f.is_file():
                found.append(f)
    return sorted(found, key=lambda f: f.relative_to(root).as_posix())


def _inside(link: Path, real_root: Path) -> bool:
    try:
        return link.resolve().is_relative_to(real_root)
    except (OSError, RuntimeError):  # a loop of links
        return False


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts) or rel.name.upper().startswith("README")


# --------------------------------------------------------------------------- deliveries of several files


@dataclass
class Group:
    """The files of one delivery: one export, or the parts an AWS Data Exports manifest names."""

    files: list[Path]
    manifest: Path | None = None
    problem: str | None = None  # why the manifest's delivery cannot be taken (a part is missing)


def _manifest_parts(path: Path) -> list[str] | None:
    """The data files an AWS Data Exports manifest names (S3 URIs), or None when ``path`` is no such manifest.

    Field names confirmed against AWS's "Data Exports manifest file reference"
    (docs.aws.amazon.com/cur/latest/userguide/dataexports-manifest.html, searched
    2026-12-06): top-level ``executionId``, ``exportArn``, ``columns`` and ``dataFiles``,
    the full S3 URIs ``s3://<bucket>/<path>/<export-name>-<part-number>.<ext>``.
    """
    if path.suffix.lower() != ".json" or path.stat().st_size > 16 * 1024 * 1024:
        return None
    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, ValueError):
        return None
    if not (isinstance(doc, dict) and isinstance(doc.get("dataFiles"), list) and "executionId" in doc):
        return None
    return [str(u) for u in doc["dataFiles"]]


def _key_tail(uri: str) -> str:
    """An S3 URI's key from the export's ``data/`` folder on (its file name when it has none)."""
    key = uri.split("://", 1)[-1].split("/", 1)[-1]
    return key[key.index("data/"):] if "data/" in key else key.rsplit("/", 1)[-1]


def group_deliveries(files: list[Path]) -> list[Group]:
    """The deliveries among ``files``, in their order: each manifest with its parts, every other file alone.

    A part is found among ``files`` by its path from the export's ``data/`` folder (as
    synced from S3), else by its file name.  The manifest's delivery is taken where the
    manifest sorts; a part it names that is missing makes that delivery a problem.
    """
    manifests = {f: parts for f in files if (parts := _manifest_parts(f)) is not None}
    claimed: set[Path] = set()
    groups: dict[Path, Group] = {}
    for m, uris in manifests.items():
        parts: list[Path] = []
        missing: list[str] = []
        for uri in uris:
            tail = _key_tail(uri)
            match = [f for f in files if f not in manifests and f.as_posix().endswith("/" + tail)]
            if not match:
                match = [f for f in files if f not in manifests and f.name == tail.rsplit("/", 1)[-1]]
            if len(match) == 1:
                parts.append(match[0])
            else:
                missing.append(tail)
        claimed.update(parts)
        problem = (f"{m}: the manifest names {len(missing)} part(s) not found beside it "
                   f"(first: {missing[0]}); nothing of this delivery was ingested") if missing else None
        if not uris:
            problem = f"{m}: the manifest names no data files"
        groups[m] = Group(parts, m, problem)
    out: list[Group] = []
    for f in files:
        if f in groups:
            out.append(groups[f])
        elif f not in claimed:
            out.append(Group([f]))
    return out
