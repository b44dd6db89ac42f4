"""The bare endpoint: the same framework and server as hovor returning the same contact row, read
with the plain driver (sqlite3 or psycopg) and no hovor code. ``api_get_contact`` measures hovor
against it in the same run.

    BENCH_DB_URL=... uvicorn bench.bare:app --workers 2
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response

URL = os.environ["BENCH_DB_URL"]
SQL = (
    "SELECT name, title, firstname, lastname, database, account, user, description, custom_fields, created"
    " FROM crm_contacts WHERE tenant_id = {p} AND name = {p}"
)
app = FastAPI()
_conn: Any = None


def _connect() -> tuple[Any, str]:
    if URL.startswith("sqlite"):
        conn = sqlite3.connect(URL.split("///", 1)[1], check_same_thread=False)
        return conn, SQL.format(p="?").replace(" user,", ' "user",')
    import psycopg

    dsn = URL.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(dsn, autocommit=True), SQL.format(p="%s").replace(" user,", ' "user",')


@app.get("/api/v6/contacts/{name}.json")
def contact(name: str) -> Response:
    global _conn
    if _conn is None:
        _conn = _connect()
    conn, sql = _conn
    row = conn.execute(sql, ("bench", name)).fetchone()
    if row is None:
        return Response(status_code=404)
    keys = (
        "name",
        "title",
        "firstname",
        "lastname",
        "database",
        "account",
        "user",
        "description",
        "customFields",
        "created",
    )
    result = dict(zip(keys, row, strict=True))
    if isinstance(result["customFields"], str):
        result["customFields"] = json.loads(result["customFields"])
    result["created"] = str(result["created"])
    return Response(json.dumps({"error": [], "result": result}), media_type="application/json")
