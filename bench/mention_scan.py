"""The erasure's search for mentions, table by table: the same pre-filter the ``mentions`` step
runs (hovor.privacy.erasure.mentions), timed per table with a person's needles.

    python -m bench.mention_scan --db URL [--needles "Novákov,jana.novakova@example.cz,456"]

Prints JSON: per table its free-text columns, rows matched and milliseconds; and the total."""

from __future__ import annotations

import argparse
import json
import time

from sqlalchemy import select

import hovor.models  # noqa: F401
from bench.common import TENANT
from hovor.core.db import make_engine, make_session_factory, planner_settings
from hovor.privacy.erasure.mentions import free_text_columns, prefilter, prefilter_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", required=True)
    parser.add_argument("--needles", default="Novákov,jana.novakova@example.cz,456")
    args = parser.parse_args(argv)
    engine = make_engine(args.db)
    postgres = engine.dialect.name == "postgresql"
    needles = args.needles.split(",")
    tables = []
    with make_session_factory(engine, writes=False)() as session:
        for table, columns in free_text_columns().items():
            where = prefilter(table, columns, needles, TENANT, postgres)
            stmt = select(*table.primary_key.columns).where(*where)
            t0 = time.perf_counter()
            with planner_settings(session, **prefilter_settings(table)):
                matched = len(session.execute(stmt).all())
            tables.append(
                {
                    "table": table.name,
                    "columns": [c.name for c in columns],
                    "matched": matched,
                    "ms": round((time.perf_counter() - t0) * 1000, 1),
                }
            )
    tables.sort(key=lambda t: -t["ms"])
    print(json.dumps({"total_ms": round(sum(t["ms"] for t in tables), 1), "tables": tables}, indent=1))


if __name__ == "__main__":
    main()
