"""What the generator and the scenarios share: sizes, settings, statistics, output."""

from __future__ import annotations

import json
import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from hovor.core.config import Settings


@dataclass(frozen=True)
class Size:
    contacts: int
    activities: int
    recordings: int


SIZES = {
    "small": Size(contacts=1_000, activities=10_000, recordings=200),
    "medium": Size(contacts=100_000, activities=1_000_000, recordings=10_000),
    "large": Size(contacts=1_000_000, activities=10_000_000, recordings=100_000),
}
TENANT = "bench"
META = "bench.json"


def data_dir_for(db_url: str, data_dir: str | None) -> Path:
    if data_dir:
        return Path(data_dir)
    url = make_url(db_url)
    tag = Path(url.database or "db").stem if url.drivername.startswith("sqlite") else f"pg-{url.database}"
    return Path("var") / "bench" / tag


def settings_for(db_url: str, data_dir: Path) -> Settings:
    return Settings(database_url=db_url, data_dir=data_dir, environment="development")


def env_for(db_url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HOVOR_DATABASE_URL": db_url,
        "HOVOR_DATA_DIR": str(data_dir),
        "HOVOR_ENVIRONMENT": "development",
        # The load generator runs on loopback at thousands of requests a second: the firewall's
        # flood rule would ban it within a second. Allow-listed, it still runs every check.
        "HOVOR_FIREWALL_ALLOW": "127.0.0.1",
    }


def load_meta(data_dir: Path) -> dict[str, Any]:
    path = data_dir / META
    if not path.exists():
        sys.exit(f"{path} is missing: run python -m bench.generate first")
    return dict(json.loads(path.read_text()))


def stats_ms(samples: list[float]) -> dict[str, float]:
    """Latency figures in milliseconds from samples in seconds."""
    ordered = sorted(samples)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 3)

    return {
        "n": len(ordered),
        "p50_ms": pct(0.50),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result, ensure_ascii=False), flush=True)
