"""What a newcomer meets first: `make run` installs only what running needs, the package builds
without warnings about its metadata, and the liveness probe tells anonymous callers nothing more."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def test_make_run_installs_without_the_dev_extras(tmp_path: Path) -> None:
    plan = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "run", f"VENV={tmp_path / 'venv'}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    installs = [line for line in plan.splitlines() if "pip install" in line and " -e " in line]
    assert installs, plan
    assert all("[dev]" not in line for line in installs), installs


def test_the_license_is_an_spdx_expression() -> None:
    """setuptools warns about (and from 2027 refuses) a license given as a table."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert isinstance(project["license"], str)


def test_healthz_does_not_publish_the_version(client: Any) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["result"] == {"status": "ok"}
