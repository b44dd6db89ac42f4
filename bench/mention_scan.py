"""The erasure's search for mentions, table by table: the same pre-filter the ``mentions`` step
runs (hovor.privacy.erasure.mentions), timed per table with a person's needles.

    python -m bench.mention_scan --db URL [--needles "Novákov,jana.novakova@example.cz,456"]

Prints JSON: per table its free-text columns, rows matched and milliseconds; and the total."""

from __future__ import annotations

import argparse
import json
import time

from sqlalchemy import or_, select

import hovor.models  # noqa: F401
from bench.common import TENANT
from hovor.core.db import make_engine, make_session_factory
from hovor.privacy.erasure.mentions import _may_mention, free_text_columns


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
            conditions = [c for column in columns for c in _may_mention(column, needles, postgres)]
            stmt = select(*table.primary_key.columns).where(table.c.tenant_id == TENANT, or_(*conditions))
            t0 = time.perf_counter()
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
