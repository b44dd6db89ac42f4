"""The FastAPI application: routers, middleware, error handlers. Engines are made here, not at import."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Every model first, so relationships across domains resolve when the APIs build their loaders.
import hovor.models  # noqa: F401
from hovor import __version__
from hovor.activities import api as activities_api
from hovor.api import audit_log as audit_api
from hovor.api import jobs as jobs_api  # noqa: F401 - registers resources
from hovor.api import refusals as refusals_module
from hovor.api.deps import document_permissions, write_session
from hovor.api.envelope import error_response, ok
from hovor.api.group import GroupCommit
from hovor.api.routeindex import RouteIndex
from hovor.api.router import build_router
from hovor.api.target import RequestTarget
from hovor.audit.chain import sign_checkpoints
from hovor.audit.keys import Pseudonyms, signing_key
from hovor.auth import api as auth_api
from hovor.auth import firewall_api as edge_api
from hovor.auth import locations_api, platform_api, tokens_api
from hovor.auth import service as auth_service
from hovor.auth.service import CallerCache
from hovor.backup import destinations as backup_destinations
from hovor.backup import ledger as backup_ledger
from hovor.backup import postgres as backup_postgres
from hovor.backup import service as backup_service
from hovor.backup.service import backup_lock
from hovor.campaigns import api as campaigns_api  # noqa: F401 - registers resources
from hovor.console import routes as console
from hovor.core import datadir
from hovor.core.config import Settings, get_settings
from hovor.core.db import make_engine, make_session_factory, unit_of_work, utcnow
from hovor.core.errors import ApiError, PayloadTooLarge
from hovor.core.validation import form_from_pydantic
from hovor.crm import api as crm_api  # noqa: F401 - registers resources
from hovor.edge import firewall
from hovor.edge.firewall import Firewall
from hovor.edge.store import DbStore, RedisStore
from hovor.edge.tls import HSTS
from hovor.files.service import Files
from hovor.helpdesk import api as helpdesk_api
from hovor.jobs.service import Worker, env_of
from hovor.privacy import api as privacy_api
from hovor.privacy import consent_api, contract_api, exports_api, holds, processing_api, requests_api
from hovor.privacy import erasure as _erasure  # noqa: F401 - registers the erasure job
from hovor.privacy import exports as subject_exports
from hovor.privacy.requests import flag_overdue
from hovor.privacy.retention import schedule_sweeps  # importing registers the sweep job
from hovor.tenancy import api as tenancy_api
from hovor.tenancy import configured

log = logging.getLogger("hovor")


# Letters, digits, dashes, underscores, with at least one letter (a bare number may be a phone).
REQUEST_ID = re.compile(rb"(?=[^A-Za-z]*[A-Za-z])[A-Za-z0-9_-]{8,64}")


class StandardHeaders:
    """A request id (the caller's, or a new one) and headers every answer carries. Pure ASGI: the
    BaseHTTPMiddleware alternative costs a task and a queue per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"")
        # The id lands in logs and in the audit log, which must never hold personal data: a
        # caller's id is kept only if it looks like one (an e-mail address or a phone number does not).
        rid = given.decode("ascii") if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        # Served over TLS here, or by a trusted proxy that said so (X-Forwarded-Proto).
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.append((b"x-request-id", rid.encode("latin-1")))
                for name, value in ((b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store")):
                    if name not in present:
                        headers.append((name, value))
                if https:
                    headers.append((b"strict-transport-security", HSTS))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


# Upload routes, with or without the .json the reference lets a client leave out.
UPLOAD_SUFFIXES = tuple(
    f"/{name}{end}" for name in ("recording", "attachments", "import") for end in (".json", "", "/")
)


class BodyLimit:
    """Refuses bodies over the configured size before any handler reads them. File uploads have
    their own, larger limit (and stream to disk instead of memory)."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload = scope["method"] == "POST" and scope["path"].endswith(UPLOAD_SUFFIXES)
        limit = self.upload_limit if upload else self.json_limit
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, receive, send, limit)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # An ApiError, so the route's error handling answers 413 if the route reads it.
                    raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
            return message

        try:
            await self.app(scope, limited, send)
        except PayloadTooLarge:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        request = Request(scope, receive)
        response = error_response(request, 413, [f"The request body is larger than {limit} bytes."])
        await response(scope, receive, send)


def _firewall_store(app: FastAPI, settings: Settings) -> Any:
    if settings.firewall_redis_url:
        return RedisStore(
            settings.firewall_redis_url,
            settings.firewall_redis_prefix,
            app.state.session_factory,
            app.state.pseudonyms,
        )
    return DbStore(app.state.session_factory, app.state.pseudonyms)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        if exc.status in (403, 409):
            try:
                bound = request.app.state.refusal_bound
                await run_in_threadpool(refusals_module.record, request, exc, bound)
            except Exception:  # the refusal stands whether or not its entry could be written
                log.exception("could not record a refusal in the audit log")
        return error_response(request, exc.status, exc.payload(), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            firewall.note(request, "malformed")
        body_errors = [e for e in errors if e.get("loc", ("",))[0] == "body"]
        if body_errors:
            return error_response(
                request, 400, {"primary": ["Validation failed"], "form": form_from_pydantic(body_errors)}
            )
        return error_response(request, 400, ["Invalid request parameters."])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: "No such endpoint.", 405: "Method not allowed on this endpoint."}
        message = messages.get(exc.status_code, str(exc.detail))
        return error_response(request, exc.status_code, [message], headers=getattr(exc, "headers", None))

    @app.exception_handler(IntegrityError)
    async def integrity_error(request: Request, exc: IntegrityError) -> Response:
        # The database refused a change that the services' own checks let through (a race between two
        # requests, usually). Nothing was written; the message must not echo the values.
        return error_response(request, 409, ["The change conflicts with existing data; nothing was saved."])

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> Response:
        # A value the database cannot hold (out of range, too long, an unstorable character) that
        # validation let through. Nothing was written; the message must not echo the value.
        log.warning("database refused a value: %s", type(exc.orig).__name__)
        return error_response(
            request,
            400,
            ["A value does not fit: out of range, too long, or with characters that cannot be stored."],
        )

    @app.exception_handler(OperationalError)
    async def operational_error(request: Request, exc: OperationalError) -> Response:
        log.warning("database unavailable or busy: %s", type(exc.orig).__name__)
        return error_response(request, 503, ["The database is busy; retry shortly."], {"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error in %s %s", request.method, request.url.path)
        return error_response(request, 500, ["Internal error; nothing was saved."])


async def _sweep_periodically(app: FastAPI) -> None:
    """Queue a retention sweep of every tenant every ``retention_sweep_seconds`` (the job worker,
    in this process or another, runs it), and flag the subject requests past their deadline."""

    def queue() -> None:
        with unit_of_work(app.state.session_factory) as session:
            schedule_sweeps(session, app.state.settings)
        # Subject requests past their deadline are flagged on the same round, and the exports
        # past their end crypto-shredded.
        with unit_of_work(app.state.session_factory) as session:
            flag_overdue(session)
        with unit_of_work(app.state.session_factory) as session:
            subject_exports.expire(session, app.state.files)

    while True:
        await asyncio.sleep(app.state.settings.retention_sweep_seconds)
        try:
            await run_in_threadpool(queue)
        except Exception:
            log.exception("queueing retention sweeps failed; will retry")


async def _checkpoint_periodically(app: FastAPI) -> None:
    """Sign a checkpoint of every audit chain that moved, every ``audit_checkpoint_seconds``."""

    def sign() -> None:
        with unit_of_work(app.state.session_factory) as session:
            sign_checkpoints(session, app.state.audit_signer)

    while True:
        await asyncio.sleep(app.state.settings.audit_checkpoint_seconds)
        try:
            await run_in_threadpool(sign)
        except IntegrityError:
            pass  # another worker signed the same head a moment earlier
        except Exception:
            log.exception("signing audit checkpoints failed; will retry")


_FROZEN = False


# Container objects a request may hold at once before the collector's youngest generation is
# walked. Python's 700 is less than what one list page holds at its peak (a hundred records,
# each a few dicts): such a page set off two collections, 0.18 ms of its 5 ms on SQLite at the
# medium size, to find no cycles (what a request makes is freed by its reference counts).
YOUNG_GENERATION = 20_000


def _freeze_startup_heap() -> None:
    """What exists once the first app has started (modules, routes, the models' machinery) lives
    as long as the process: out of the collector's sight, the collections that every large page
    of rows sets off no longer walk it each time. Once per process; the youngest generation then
    collects after YOUNG_GENERATION net allocations, not after 700."""
    global _FROZEN
    if not _FROZEN:
        _FROZEN = True
        gc.collect()
        gc.freeze()
        gc.set_threshold(YOUNG_GENERATION, *gc.get_threshold()[1:])


async def _back_up_periodically(app: FastAPI) -> None:
    """Ship the restore ledger every ``ledger_ship_seconds``; take a backup every
    ``backup_hours`` and drill a restore every ``backup_drill_days`` (on PostgreSQL with
    pgBackRest, once ``pgbackrest_pg_path`` says where the cluster is), counted from the newest
    backup and drill the destinations and the data directory know of, so restarts do not postpone
    them. Backups and drills run beside the shipping, which they never hold up; one process of the
    machine does each at a time."""
    settings = app.state.settings
    try:
        declared = backup_destinations.declared(settings)
    except ValueError:
        log.exception("HOVOR_BACKUP_DESTINATIONS cannot be read: no backups are taken")
        return
    if not declared:
        return
    on_postgres = app.state.engine.dialect.name == "postgresql"
    can_back_up = not on_postgres or settings.pgbackrest_pg_path is not None
    busy: asyncio.Task[None] | None = None
    # Whether a backup or drill is due is asked at most this often (it lists every destination's
    # backups; a drill that failed is not retried every few seconds).
    look_every = 600.0
    next_look = 0.0

    def ship() -> None:
        with backup_lock(settings.data_dir, "ledger") as mine:
            if mine:
                backup_ledger.ship(app.state.session_factory, settings.data_dir, declared)

    def back_up() -> None:
        with backup_lock(settings.data_dir, "backup") as mine:
            if not mine:
                return
            now = utcnow()
            newest = backup_service.newest(declared)
            if newest is None or now - newest >= dt.timedelta(hours=settings.backup_hours):
                take = backup_postgres.take if on_postgres else backup_service.take
                take(settings, app.state.session_factory, app.state.files, declared)
                backup_service.prune(settings, app.state.session_factory, declared)
            drilled = backup_service.last_drill(settings.data_dir)
            if drilled is None or now - drilled >= dt.timedelta(days=settings.backup_drill_days):
                public = app.state.audit_signer.public_key()
                master = app.state.files.master
                factory = app.state.session_factory
                if on_postgres:
                    backup_postgres.drill(settings, factory, declared, declared[0], master, public)
                else:
                    backup_service.drill(settings, factory, declared[0], master, public)

    async def in_background(fn: Callable[[], None]) -> None:
        try:
            await run_in_threadpool(fn)
        except Exception:
            log.exception("a backup or restore drill failed; will retry")

    while True:
        await asyncio.sleep(settings.ledger_ship_seconds)
        try:
            await run_in_threadpool(ship)
        except Exception:
            log.exception("shipping the restore ledger failed; will retry")
        if can_back_up and (busy is None or busy.done()) and time.monotonic() >= next_look:
            next_look = time.monotonic() + look_every
            busy = asyncio.create_task(in_background(back_up))


def _check_locations(app: FastAPI) -> None:
    """The declared data locations against the configured stores: a declaration of a store that is
    not configured stops the start (tenants would be told their data is where it is not); a
    configured store without a declared location is logged."""
    with app.state.read_session_factory() as session:
        errors, warnings = configured.findings(session, app.state.settings)
    for warning in warnings:
        log.warning("data locations: %s", warning)
    if errors:
        raise RuntimeError("data locations contradict the configuration: " + "; ".join(errors))


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    if (app.state.settings.data_dir / backup_service.MARKER).exists():
        # A restore that did not finish may not have replayed the ledger: serving now could show
        # people erased since the backup. Finish or redo the restore first.
        raise RuntimeError("a restore of this data directory did not finish (see docs/operations.md)")
    _check_locations(app)
    # Finish blob deletions a previous process started but did not complete. A store that cannot be
    # reached right now must not keep the service from starting: the next reap retries.
    try:
        app.state.files.reap(app.state.session_factory)
    except Exception:
        log.exception("blob reaper failed at start; will retry")
    checkpoints = asyncio.create_task(_checkpoint_periodically(app))
    sweeps = asyncio.create_task(_sweep_periodically(app))
    backups = asyncio.create_task(_back_up_periodically(app))
    _freeze_startup_heap()
    worker = None
    if app.state.settings.jobs_in_process:
        worker = Worker(env_of(app.state))
        worker.start()
        app.state.job_worker = worker
    yield
    checkpoints.cancel()
    sweeps.cancel()
    backups.cancel()  # a backup running in the thread pool finishes; the next start resumes
    if worker is not None:
        worker.stop()
        app.state.job_worker = None
    app.state.engine.dispose()


def _init_state(app: FastAPI, settings: Settings) -> None:
    """The app's engine, session factories, caches, blob store and keys: made per app, never at import."""
    app.state.settings = settings
    datadir.protect(settings.data_dir)
    app.state.engine = make_engine(settings.resolved_database_url, echo=settings.sql_echo)
    app.state.session_factory = make_session_factory(app.state.engine)
    app.state.read_session_factory = make_session_factory(app.state.engine, writes=False)
    app.state.snapshot_session_factory = make_session_factory(app.state.engine, writes=False, snapshot=True)
    app.state.caller_cache = CallerCache(settings.auth_cache_seconds)
    app.state.tokens = auth_service
    # Legal holds are the privacy domain's; a route of a domain below it (replacing a recording)
    # consults them through the app.
    app.state.legal_holds = holds
    app.state.refusal_bound = refusals_module.Bound()  # refusals recorded per actor and minute
    app.state.group_commit = GroupCommit(lambda: write_session(app.state))
    app.state.files = Files(settings)
    app.state.pseudonyms = Pseudonyms(settings.secret_key)
    app.state.audit_signer = signing_key(settings)
    app.state.job_worker = None


def _install_middleware(app: FastAPI, settings: Settings) -> None:
    # Added first, so inside the standard headers: its 400 and 414 answers carry them too.
    app.add_middleware(RequestTarget, max_bytes=settings.max_url_bytes)
    app.add_middleware(StandardHeaders)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, upload_limit=settings.max_upload_bytes)
    # Outermost: a banned client is answered before anything else runs.
    app.state.firewall_store = _firewall_store(app, settings)
    app.add_middleware(Firewall, settings=settings, store=app.state.firewall_store)


def _install_routes(app: FastAPI) -> None:
    routes: list[Any] = []
    for router in (
        auth_api.router,
        platform_api.router,
        edge_api.router,
        tokens_api.router,
        locations_api.router,
        tenancy_api.router,
        activities_api.router,
        helpdesk_api.router,
        audit_api.router,
        privacy_api.router,
        requests_api.router,
        exports_api.router,
        processing_api.router,
        contract_api.router,
        consent_api.router,
        # The generic routes of every declared resource. Deletes of records with personal data do
        # what the privacy domain says, which the domains declaring them cannot import: wired here.
        build_router(privacy_api.delete_hooks()),
    ):
        # Added to the app's own router, not included: an included router is matched route by route
        # behind a wrapper of its own, which costs milliseconds per request at this route count.
        routes.extend(router.routes)
    # The index answers first; the routes themselves stay for OpenAPI and as the fallback.
    app.router.routes.insert(0, RouteIndex(routes))
    app.router.routes.extend(routes)
    document_permissions(routes)
    # The console (server-rendered pages under /): matched after the API's routes.
    app.router.routes.extend(console.install(app))

    @app.get("/healthz", tags=["Service"], openapi_extra={"x-permission": "public"}, summary="Liveness")
    def healthz(request: Request) -> Any:
        # Liveness only: an anonymous caller has no need to learn which release runs.
        return ok(request, {"status": "ok"})


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(
        lifespan=_lifespan,
        title="hovor",
        version=__version__,
        description="Contact-centre data platform with GDPR built in, in the Daktela v6 REST conventions.",
        docs_url="/docs",
        openapi_url="/openapi.json",
        # FastAPI's own OpenTelemetry would export, wherever a global provider is set, each
        # request's query string (what was searched for, an accessToken) and its log records:
        # personal data and secrets out of hovor's control. Off, it also costs nothing per request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    settings = settings or get_settings()
    _init_state(app, settings)
    _install_middleware(app, settings)
    _install_error_handlers(app)
    _install_routes(app)
    return app
