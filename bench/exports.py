"""``export_subject`` (registered into bench.run): the access export of a person with 1,000 linked
activities on every channel, 100 of them calls with encrypted recordings (``make_person`` of
bench/privacy.py, inside the generated tenant).

hovor: the export job as the DPO starts it — plan, every record serialized in the v6 wire shape,
other people taken out, the report rendered twice, the recordings decrypted, all zipped and
encrypted into one blob. Baseline: the same rows read with plain SQL (one ``SELECT *`` per table
over the key list), written out as JSON, and the same recording objects copied as files."""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import hovor.models  # noqa: F401 - every mapper, so references across domains resolve
from bench.common import TENANT, settings_for, stats_ms
from bench.privacy import CHANNELS, RECORDINGS, Person, make_person

# The tables the export reads, with the column holding the key they are read by.
TABLES = [
    ("activities", "name"),
    ("activity_calls", "name"),
    ("activity_emails", "name"),
    ("activity_webs", "name"),
    ("activity_sms", "name"),
    ("activity_fbm", "name"),
    ("messages", "activity"),
    ("call_transcripts", "activity"),
    ("call_recordings", "name"),
]


def _hovor_export(env: Any, person: Person) -> tuple[float, int]:
    """(the export job's seconds, the package's bytes)."""
    import datetime as dt

    from hovor.core.db import new_name, unit_of_work, utcnow
    from hovor.jobs import service as jobs
    from hovor.jobs.models import DONE, Job
    from hovor.privacy.exports import KIND
    from hovor.privacy.models import SubjectExport

    with unit_of_work(env.factory) as s:
        name = new_name("exports")
        params = {"export": name, "contact": person.contact, "include": {}}
        job = jobs.enqueue(s, TENANT, KIND, params, target=name)
        s.add(
            SubjectExport(
                tenant_id=TENANT,
                name=name,
                contact=person.contact,
                include={},
                job=job.name,
                state="building",
                expires=utcnow() + dt.timedelta(days=7),
                downloads=0,
            )
        )
        job_name = job.name
    t0 = time.perf_counter()
    jobs.run_pending(env, kinds=[KIND])
    elapsed = time.perf_counter() - t0
    with env.factory() as s:
        state = s.get(Job, (TENANT, job_name))
        assert state is not None and state.state == DONE, state.error if state else None
        export = s.get(SubjectExport, (TENANT, name))
        assert export is not None and export.state == "ready"
        return elapsed, int(export.size or 0)


def _baseline_export(raw: Any, blob_root: Path, person: Person, out: Path) -> float:
    t0 = time.perf_counter()
    keys = person.activities
    marks = ", ".join("?" for _ in keys)
    tables: dict[str, Any] = {}
    cursor = raw.conn.execute(
        "SELECT * FROM crm_contacts WHERE tenant_id = ? AND name = ?".replace("?", raw.p),
        (TENANT, person.contact),
    )
    columns = [d[0] for d in cursor.description]
    tables["crm_contacts"] = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    for table, column in TABLES:
        sql = f"SELECT * FROM {table} WHERE tenant_id = ? AND {column} IN ({marks})"
        cursor = raw.conn.execute(sql.replace("?", raw.p), (TENANT, *keys))
        columns = [d[0] for d in cursor.description]
        tables[table] = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    for table, rows in tables.items():
        (out / f"{table}.json").write_text(json.dumps(rows, default=str, ensure_ascii=False))
    stores = [r["store_key"] for r in _blob_rows(raw, [r["blob"] for r in tables["call_recordings"]])]
    for store_key in stores:
        shutil.copyfile(_object_path(blob_root, store_key), out / store_key)
    return time.perf_counter() - t0


def _blob_rows(raw: Any, names: list[str]) -> list[dict[str, Any]]:
    marks = ", ".join("?" for _ in names)
    sql = f"SELECT name, store_key FROM blobs WHERE tenant_id = ? AND name IN ({marks})"
    return [{"name": n, "store_key": k} for n, k in raw.q(sql, (TENANT, *names))]


def _object_path(root: Path, store_key: str) -> Path:
    return root / store_key[:2] / store_key[2:4] / store_key  # the local store's fan-out


def export_subject(args: argparse.Namespace) -> dict[str, Any]:
    from bench.run import Raw
    from hovor.audit.keys import signing_key
    from hovor.core.db import make_engine, make_session_factory
    from hovor.files.service import Files
    from hovor.jobs.service import Env

    settings = settings_for(args.db, args.data_dir)
    engine = make_engine(args.db)
    factory = make_session_factory(engine)
    files = Files(settings)
    env = Env(settings, factory, files, signing_key(settings), engine)
    raw = Raw(args.db)
    blob_root = Path(settings.resolved_blob_store_url.removeprefix("file://"))
    reps = max(1, min(args.reps, 5))
    seed = random.Random().randrange(10**5)
    hovor_s, base_s, sizes = [], [], []
    for i in range(reps):
        person = make_person(factory, files, seed + i)
        seconds, size = _hovor_export(env, person)
        hovor_s.append(seconds)
        sizes.append(size)
        with tempfile.TemporaryDirectory() as out:
            base_s.append(_baseline_export(raw, blob_root, person, Path(out)))
    ours, sql = stats_ms(hovor_s), stats_ms(base_s)
    return {
        "activities_per_subject": sum(c for _, c in CHANNELS),
        "recordings_per_subject": RECORDINGS,
        "runs": reps,
        "package_bytes": max(sizes),
        "hovor": ours,
        "sql": sql,
        "ratio_p50": round(ours["p50_ms"] / sql["p50_ms"], 2) if sql["p50_ms"] else 0.0,
        "targets": {"p50<=5s": ours["p50_ms"] <= 5000, "ratio<=2": ours["p50_ms"] <= 2 * sql["p50_ms"]},
    }
