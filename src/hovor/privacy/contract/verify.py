"""Checking a contract-end package as its recipient does: decrypt, then check the manifest's
signature and every file's SHA-256 and size against what the ZIP holds."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import orjson
import pyrage

from hovor.privacy.contract.signing import verify


def open_package(path: Path, identity: Any) -> zipfile.ZipFile:
    """The decrypted ZIP (held in memory: this is the recipient's check, not the server's path)."""
    with path.open("rb") as fh:
        out = io.BytesIO()
        pyrage.decrypt_io(fh, out, [identity])
    return zipfile.ZipFile(io.BytesIO(out.getvalue()))


def check_package(path: Path, identity: Any, key_id: str | None = None) -> list[str]:
    """What is wrong with the package (nothing: an empty list)."""
    try:
        archive = open_package(path, identity)
    except (pyrage.DecryptError, zipfile.BadZipFile, OSError) as exc:
        return [f"cannot decrypt or open: {type(exc).__name__}"]
    return check_archive(archive, key_id)


def check_archive(archive: zipfile.ZipFile, key_id: str | None = None) -> list[str]:
    """What is wrong with a decrypted package: its manifest's signature, a file it lists that is
    missing or differs, a file it does not list (nothing: an empty list)."""
    try:
        signed = orjson.loads(archive.read("manifest.json"))
    except (KeyError, orjson.JSONDecodeError):
        return ["no readable manifest.json"]
    if not isinstance(signed, dict):
        return ["no readable manifest.json"]
    problems = [] if verify(signed, "manifest", key_id) else ["the manifest's signature does not verify"]
    listed = signed.get("manifest", {}).get("files", {})
    held = {n for n in archive.namelist() if n != "manifest.json"}
    problems += [f"not in the manifest: {n}" for n in sorted(held - set(listed))]
    for name, expected in sorted(listed.items()):
        if name not in held:
            problems.append(f"missing: {name}")
            continue
        data = archive.read(name)
        if hashlib.sha256(data).hexdigest() != expected["sha256"] or len(data) != expected["size"]:
            problems.append(f"digest differs: {name}")
    return problems
