"""The schema: migrations match the models on both databases, every column is classified,
and SQLite runs with the pragmas erasure depends on."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, String, Table, text

from conftest import PG_BASE, needs_postgres
from hovor.core.config import Settings
from hovor.core.db import Base, make_engine
from hovor.core.personal_data import Category, Erasure, not_personal, personal, unclassified
from hovor.migrations import include_name


def test_models_and_migrations_do_not_drift(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_every_column_declares_its_personal_data() -> None:
    assert unclassified(Base.metadata) == []


def test_an_unclassified_column_is_caught() -> None:
    # The same check on a table with one column left undeclared must name that column.
    md = MetaData()
    Table(
        "calls",
        md,
        Column("id", Integer, primary_key=True, info=not_personal()),
        Column("clid", String, info=personal(Category.PHONE)),
        Column("caller_name", String),
    )
    assert unclassified(md) == ["calls.caller_name"]


def test_keeping_personal_data_needs_a_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        personal(Category.PHONE, erasure=Erasure.KEEP)


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as conn:
        values = {
            name: conn.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("secure_delete", "foreign_keys", "journal_mode", "busy_timeout")
        }
    engine.dispose()
    assert values == {"secure_delete": 1, "foreign_keys": 1, "journal_mode": "wal", "busy_timeout": 10000}


def test_production_refuses_placeholder_secrets() -> None:
    with pytest.raises(ValueError, match="HOVOR_SECRET_KEY"):
        Settings(environment="production")
    with pytest.raises(ValueError, match="fast"):
        Settings(environment="production", secret_key="x" * 40, password_hash_profile="fast")
    ok = Settings(environment="production", secret_key="x" * 40)
    assert ok.hash_profile == "owasp"


def test_every_setting_is_described() -> None:
    missing = [name for name, f in Settings.model_fields.items() if not f.description]
    assert missing == []


def test_timestamps_are_stored_in_utc(client: Any, engine: Any, app: Any) -> None:
    import datetime as dt

    from conftest import make_tenant

    make_tenant(app, "utc")
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT created FROM tenants WHERE id = 'utc'")).scalar()
    if isinstance(stored, str):
        stored = dt.datetime.fromisoformat(stored)
    assert stored.tzinfo is None
    assert abs((dt.datetime.now(dt.UTC).replace(tzinfo=None) - stored).total_seconds()) < 120


def test_sqlite_writers_queue_and_readers_do_not_wait(tmp_path: Path) -> None:
    import threading
    import time

    from hovor.core.db import make_session_factory, unit_of_work

    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE n (i INTEGER)"))
    writes, reads = make_session_factory(engine), make_session_factory(engine, writes=False)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(50):
                with unit_of_work(writes) as s:
                    s.execute(text("INSERT INTO n VALUES (:i)"), {"i": k * 1000 + i})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with unit_of_work(reads) as s:
        assert s.execute(text("SELECT count(*) FROM n")).scalar() == 400

    # While a writer holds the write lock, a reader still answers at once.
    holding = threading.Event()
    release = threading.Event()

    def long_writer() -> None:
        with unit_of_work(writes) as s:
            s.execute(text("INSERT INTO n VALUES (-1)"))
            holding.set()
            release.wait(5)

    t = threading.Thread(target=long_writer)
    t.start()
    holding.wait(5)
    started = time.monotonic()
    with unit_of_work(reads) as s:
        assert s.execute(text("SELECT count(*) FROM n")).scalar() == 400
    assert time.monotonic() - started < 0.5
    release.set()
    t.join()
    engine.dispose()


def test_postgresql_keeps_no_statistics_of_personal_data(engine: Any, backend: str) -> None:
    """ANALYZE would copy sample values of these columns into pg_statistic, out of erasure's reach."""
    from hovor.core.personal_data import without_statistics

    wanted = set(without_statistics(Base.metadata))
    assert ("crm_contacts", "lastname") in wanted and ("messages", "text") in wanted
    assert ("activity_calls", "clid") not in wanted  # looked up by: the planner needs its statistics
    if backend != "postgres":
        return
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, a.attname, a.attstattarget FROM pg_attribute a"
                " JOIN pg_class c ON c.oid = a.attrelid"
                " WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped"
            )
        ).all()
    targets = {(t, c): s for t, c, s in rows}
    assert {tc for tc in wanted if targets.get(tc) != 0} == set()
    assert targets[("activities", "time")] != 0 and targets[("activity_calls", "clid")] != 0


def test_postgresql_connections_compile_no_plans() -> None:
    """JIT off on every pooled connection, and still off after the pool rolled a transaction back
    (the setting must survive the reset on return). Where the planner's costs are inflated by the
    missing statistics above, JIT would compile index probes for longer than they run."""
    needs_postgres()
    assert PG_BASE is not None
    engine = make_engine(PG_BASE)
    for _ in range(2):
        with engine.connect() as conn:
            assert conn.execute(text("SHOW jit")).scalar() == "off"
            conn.rollback()
    with engine.begin() as conn:
        assert conn.execute(text("SHOW jit")).scalar() == "off"
    engine.dispose()


def test_upgrading_a_database_that_holds_data(backend: str, tmp_path: Path) -> None:
    """The migrations since the first release upgrade a database with rows in it, not only an
    empty one: tables that other rows reference are rebuilt on SQLite without breaking a reference
    (0027), and what is derived from existing rows is filled in (0028's first answer)."""
    from alembic import command
    from sqlalchemy import create_engine

    from conftest import _fresh_pg_database, _worker
    from hovor.migrations import alembic_config

    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.db'}"
    else:
        url = _fresh_pg_database(f"hovor_test_{_worker()}_upgrade")
    command.upgrade(alembic_config(url), "0021")
    engine = create_engine(url)
    t = "2026-11-02 10:00:00"
    rows = [
        "INSERT INTO tenants (id, title, timezone, country, created) VALUES ('a', 'A', 'UTC', 'CZ', :t)",
        "INSERT INTO crm_databases (tenant_id, name, title, created) VALUES ('a', 'main', 'Main', :t)",
        "INSERT INTO crm_accounts (tenant_id, name, title, database, custom_fields, consents, created)"
        " VALUES ('a', 'acc', 'Firma', 'main', '{}', '{}', :t)",
        "INSERT INTO crm_contacts (tenant_id, name, title, lastname, database, account, custom_fields,"
        " consents, created) VALUES ('a', 'c1', 'Jana Nová', 'Nová', 'main', 'acc', '{}', '{}', :t)",
        "INSERT INTO ticket_categories (tenant_id, name, title, created) VALUES ('a', 'cat', 'Cat', :t)",
        "INSERT INTO tickets (tenant_id, name, title, category, stage, priority, followers, custom_fields,"
        " consents, anonymized, created) VALUES ('a', 1, 'T', 'cat', 'OPEN', 'MEDIUM', '[]', '{}', '{}',"
        " false, :t)",
        "INSERT INTO activities (tenant_id, name, type, action, important, time, anonymized, custom_fields,"
        " consents, created, ticket) VALUES ('a', 'm1', 'EMAIL', 'CLOSE', false, '2026-11-02 11:00:00',"
        " false, '{}', '{}', :t, 1)",
        "INSERT INTO activity_emails (tenant_id, name, headers, direction, state, answered)"
        " VALUES ('a', 'm1', '{}', 'out', 'SENT', false)",
    ]
    with engine.begin() as conn:
        for row in rows:
            conn.execute(text(row), {"t": t})
    engine.dispose()
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT account FROM crm_contacts")).scalar_one() == "acc"
        assert conn.execute(text("SELECT count(*) FROM crm_accounts WHERE sla IS NULL")).scalar_one() == 1
        first = conn.execute(text("SELECT first_answer FROM tickets")).scalar_one()
        assert first is not None and str(first).startswith("2026-11-02 11:00")
        if backend == "sqlite":
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_a_free_text_rows_condition_names_every_free_text_column_of_its_table() -> None:
    """The erasure's search for mentions reads only the rows a table's free-text condition selects
    (a partial index): a free-text column the condition left out would hide its mentions."""
    from hovor.core.personal_data import FREE_TEXT_ROWS
    from hovor.privacy.erasure.mentions import free_text_columns

    declared = {t: t.info[FREE_TEXT_ROWS] for t in Base.metadata.sorted_tables if FREE_TEXT_ROWS in t.info}
    assert declared, "no table declares its free-text rows"
    columns = free_text_columns()
    for table, condition in declared.items():
        named = set(re.findall(r"[a-z_]+(?= IS NOT NULL| <>)", condition))
        assert {c.name for c in columns[table]} <= named, (table.name, condition)
        index = next(i for i in table.indexes if i.name == f"ix_{table.name}_tenant_free_text")
        for dialect in ("sqlite", "postgresql"):
            assert str(index.dialect_options[dialect]["where"]) == condition
