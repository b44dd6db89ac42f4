"""Test fixtures: every API test runs on SQLite and on PostgreSQL, both built by the migrations.

PostgreSQL is used when ``HOVOR_TEST_POSTGRES_URL`` is set or a server answers on localhost;
with ``CI=true`` its absence fails the run instead of skipping it.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ["HOVOR_ENVIRONMENT"] = "test"
os.environ.pop("HOVOR_DATABASE_URL", None)
warnings.filterwarnings("ignore", message=".*httpx2.*")

import psycopg  # noqa: E402
import pytest  # noqa: E402
from alembic import command  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import Engine, event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from hovor.app import create_app  # noqa: E402
from hovor.auth.service import issue_api_token, system_caller  # noqa: E402
from hovor.auth.users import create_tenant  # noqa: E402
from hovor.core.config import Settings, get_settings  # noqa: E402
from hovor.core.db import Base, unit_of_work  # noqa: E402
from hovor.migrations import alembic_config  # noqa: E402
from hovor.models import Base as _models  # noqa: E402,F401

get_settings.cache_clear()
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ROLES = ("admin", "supervisor", "operator", "dpo", "auditor", "integration")


def _pg_base_url() -> str | None:
    url = os.environ.get("HOVOR_TEST_POSTGRES_URL") or DEFAULT_PG
    try:
        with psycopg.connect(_dsn(url), connect_timeout=3):
            return url
    except psycopg.Error:
        if os.environ.get("CI") == "true" or os.environ.get("HOVOR_TEST_POSTGRES_URL"):
            raise RuntimeError(
                "PostgreSQL is required here (CI=true or HOVOR_TEST_POSTGRES_URL set) but does not answer"
            ) from None
        return None


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


PG_BASE = _pg_base_url()


def needs_postgres() -> None:
    """For a test that runs on PostgreSQL only: skipped where none runs, a failure in CI."""
    if PG_BASE is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL must run in CI")
        pytest.skip("PostgreSQL is not running here (CI runs it)")


BACKENDS = ["sqlite", *(["postgres"] if PG_BASE else [])]


def _worker() -> str:
    # The process id keeps two test runs on one server (a CI run beside a developer's) apart.
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


CREATED: list[str] = []


def _drop_created() -> None:
    if not CREATED or PG_BASE is None:
        return
    with psycopg.connect(_dsn(PG_BASE), autocommit=True) as conn:
        for name in CREATED:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fresh_pg_database(name: str) -> str:
    assert PG_BASE is not None
    with psycopg.connect(_dsn(PG_BASE), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    CREATED.append(name)
    return make_url(PG_BASE).set(database=name).render_as_string(hide_password=False)


def migrated_url(backend: str, tmp: Path, suffix: str = "") -> str:
    """A new, empty database of ``backend`` brought to the newest revision by the migrations."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / f'hovor{suffix}.db'}"
    else:
        url = _fresh_pg_database(f"hovor_test_{_worker()}{suffix}")
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture(scope="session", autouse=True)
def _drop_test_databases() -> Iterator[None]:
    yield
    _drop_created()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def db_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated_url(backend, tmp_path_factory.mktemp(f"db-{backend}"))


@pytest.fixture(scope="session")
def settings(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        environment="test",
        database_url=db_url,
        data_dir=tmp_path_factory.mktemp("data"),
        max_body_bytes=200_000,
        # Tests change tokens and users directly in the database; the cache has its own test.
        auth_cache_seconds=0,
    )


@pytest.fixture(scope="session")
def app(settings: Settings) -> Any:
    return create_app(settings)


@pytest.fixture(scope="session")
def engine(app: Any) -> Engine:
    return app.state.engine  # type: ignore[no-any-return]


def _truncate(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def client(app: Any, engine: Engine) -> Iterator[TestClient]:
    _truncate(engine)
    with TestClient(app, raise_server_exceptions=True) as c:
        yield c


@pytest.fixture
def session_factory(app: Any) -> Any:
    return app.state.session_factory


@dataclass
class TenantFixture:
    id: str
    tokens: dict[str, str] = field(default_factory=dict)

    def h(self, role: str = "admin") -> dict[str, str]:
        return {"X-AUTH-TOKEN": self.tokens[role]}


def make_tenant(app: Any, tenant_id: str, tz: str = "Europe/Prague") -> TenantFixture:
    """A tenant with the CRM database ``main`` and one user (with an API token) of every role."""
    from hovor.auth.schemas import UserCreate
    from hovor.auth.users import create_user
    from hovor.crm import schemas as crm
    from hovor.crm import service as crm_service

    fixture = TenantFixture(tenant_id)
    with unit_of_work(app.state.session_factory) as session:
        create_tenant(
            session, tenant_id, f"Tenant {tenant_id}", tz, "CZ", "DPO Office", f"dpo@{tenant_id}.example"
        )
        caller = system_caller(session, tenant_id)
        for role in ROLES:
            login = f"{tenant_id}-{role}"
            create_user(
                session,
                caller,
                UserCreate(name=login, title=f"{role} of {tenant_id}", role=role, password="correct horse 1"),
            )
            fixture.tokens[role], _ = issue_api_token(session, app.state.settings, tenant_id, login, None, 1)
        crm_service.create_database(session, caller, crm.DatabaseCreate(name="main", title="Main"))
    return fixture


@pytest.fixture
def tenant(client: TestClient, app: Any) -> TenantFixture:
    return make_tenant(app, "acme")


@pytest.fixture
def other_tenant(client: TestClient, app: Any) -> TenantFixture:
    return make_tenant(app, "globex")


def data(response: Any) -> Any:
    body = response.json()
    assert body["error"] == [], body
    return body["result"]


@contextmanager
def statements_on(engine: Engine, needle: str) -> Iterator[list[str]]:
    """The statements run on ``engine`` inside the block that contain ``needle``, in order (a
    listener also turns off hovor.api.flat's driver path, so every statement is seen)."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if needle in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)
