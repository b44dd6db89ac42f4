"""One settings class for the whole service; every field is read from ``HOVOR_*`` variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that only exist so a development checkout starts without setup. Production refuses them.
PLACEHOLDER_SECRETS = frozenset({"", "change-me", "dev-secret", "placeholder"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOVOR_", env_file=None, extra="ignore")

    environment: Literal["development", "test", "production"] = Field(
        "development",
        description="Production refuses placeholder secrets and uses full-strength password hashing.",
    )
    data_dir: Path = Field(Path("var"), description="Directory for the embedded database, blobs and keys.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL. Empty means SQLite at <data_dir>/hovor.db. "
        "PostgreSQL: postgresql+psycopg://user@host/db.",
    )
    blob_store_url: str | None = Field(
        None,
        description="Where blobs live: file:///path or s3://bucket/prefix. Empty means <data_dir>/blobs.",
    )
    master_key_file: Path | None = Field(
        None,
        description="File holding the master key that wraps tenant keys. Empty means <data_dir>/master.key, "
        "created on first start in development.",
    )
    audit_signing_key_file: Path | None = Field(
        None,
        description="File holding the Ed25519 key that signs audit checkpoints. Empty means "
        "<data_dir>/audit-signing.key, created on first start in development.",
    )
    audit_checkpoints_file: Path | None = Field(
        None,
        description="The signed checkpoints exported with `hovor audit checkpoints export`, where the "
        "operator keeps them (out of the database administrators' reach). Restore drills verify every "
        "restored audit chain against them, which catches a chain truncated or rewritten before the "
        "backup. Empty: drills check the chains against the checkpoints inside the backup only.",
    )
    audit_checkpoint_seconds: float = Field(
        3600, description="How often `hovor serve` signs a checkpoint of every audit chain that moved.", gt=0
    )
    jobs_in_process: bool = Field(
        True, description="`hovor serve` runs a job worker in each process (`hovor worker` runs one alone)."
    )
    job_poll_seconds: float = Field(1.0, description="How often an idle worker looks for jobs.", gt=0)
    job_lease_seconds: float = Field(
        120,
        description="A running job whose worker has not reported for this long is taken over by another "
        "worker (its worker died).",
        gt=0,
    )
    retention_chunk: int = Field(
        1000, description="Records a retention sweep removes per transaction.", ge=1, le=10000
    )
    retention_sweep_seconds: float = Field(
        3600, description="How often `hovor serve` queues a retention sweep of every tenant.", gt=0
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses or networks of the reverse proxies in front: only their "
        "X-Forwarded-For and X-Forwarded-Proto are read (`hovor serve --behind-proxy` sets it).",
    )
    firewall_enabled: bool = Field(True, description="Score clients and ban hostile ones.")
    firewall_redis_url: str | None = Field(
        None, description="Keep the firewall's scores and bans in Redis instead of the database."
    )
    firewall_redis_prefix: str = Field(
        "hovor:firewall",
        description="Prefix of the firewall's Redis keys (several services may share one Redis).",
    )
    firewall_threshold: float = Field(5, description="Points within the window that ban a client.", gt=0)
    firewall_window_seconds: float = Field(600, description="How long a scored request counts.", gt=0)
    firewall_ban_seconds: float = Field(
        600, description="The first ban's length; each repeat doubles it.", gt=0
    )
    firewall_max_ban_seconds: float = Field(7 * 86400, description="The longest ban.", gt=0)
    firewall_memory_seconds: float = Field(
        7 * 86400, description="How long an earlier ban makes the next one longer.", gt=0
    )
    firewall_flood_requests: int = Field(
        1500, description="Requests of one client within the flood window (per process) that ban it.", ge=1
    )
    firewall_flood_seconds: float = Field(10, description="The flood window.", gt=0)
    firewall_allow: str = Field("", description="Comma-separated networks never banned (platform-wide).")
    firewall_deny: str = Field("", description="Comma-separated networks always refused.")
    firewall_sync_seconds: float = Field(
        0.5, description="How often each process refreshes its copy of the bans and lists.", gt=0
    )
    processor_name: str = Field(
        "the platform operator",
        description="The processor's name as the record of processing activities (Art. 30) states it.",
        max_length=255,
    )
    processor_contact: str | None = Field(
        None,
        description="The processor's contact (its DPO's address) in the record of processing activities.",
        max_length=500,
    )
    audit_retention_floor_days: int = Field(
        365,
        description="The audit log is kept at least this long, whatever a tenant's retention policy or "
        "contract says: it is the evidence of what was done with the data.",
        ge=1,
        le=36500,
    )
    contract_grace_days: int = Field(
        30,
        description="Contract end: days after the tenant's package was written after which the purge may "
        "be approved without the controller's confirmed receipt (the contracted grace period).",
        ge=0,
    )
    erasure_compact_delay_seconds: float = Field(
        60,
        description="PostgreSQL: how long after an erasure its tables are rewritten (VACUUM FULL), so "
        "that erasures close together share one rewrite.",
        ge=0,
    )
    erasure_wait_seconds: float = Field(
        10,
        description="How long `DELETE contacts/{name}.json?anonymize=1` waits for its erasure job to "
        "finish before answering 202 with the job to follow.",
        ge=0,
    )
    backup_destinations: str = Field(
        "",
        description='Where backups go: a JSON list of {"name", "url" (file:///path or s3://bucket/prefix), '
        '"location" (e.g. "Prague, CZ")}, and optionally "provider", "country" (ISO 3166-1 alpha-2) '
        'and "region": a destination whose country is known is a `backup` data location by itself. '
        "Two or more in different places make them geo-redundant. "
        "Empty: no backups are taken by `hovor serve`.",
    )
    backup_hours: float = Field(24, description="How often `hovor serve` takes a backup.", gt=0)
    backup_drill_days: float = Field(
        30, description="How often `hovor serve` restores the newest backup into a scratch directory.", gt=0
    )
    backup_keep_daily: int = Field(7, description="Daily backups kept.", ge=1)
    backup_keep_weekly: int = Field(4, description="Weekly backups kept.", ge=0)
    backup_keep_monthly: int = Field(12, description="Monthly backups kept.", ge=0)
    backup_margin_days: int = Field(
        30,
        description="No backup is kept longer than the longest retention a tenant contracted plus this.",
        ge=0,
    )
    pgbackrest_pg_path: Path | None = Field(
        None,
        description="PostgreSQL: the cluster's data directory (PGDATA), which pgBackRest backs up and "
        "restores into. Needed for `hovor backup` on PostgreSQL.",
    )
    pgbackrest_user: str | None = Field(
        None,
        description="PostgreSQL: the system user pgBackRest and pg_ctl run as (the owner of PGDATA, "
        "usually postgres); when hovor runs as another user, through `runuser` (root) or `sudo -n`.",
    )
    pgbackrest_config: Path | None = Field(
        None,
        description="PostgreSQL: where hovor writes pgBackRest's configuration (readable by "
        "pgbackrest_user: PostgreSQL's archive_command reads it). "
        "Default: <data dir>/pgbackrest/pgbackrest.conf.",
    )
    pgbackrest_stanza: str = Field("hovor", description="PostgreSQL: pgBackRest's stanza name.")
    pgbackrest_socket: str | None = Field(
        None, description="PostgreSQL: the directory of the cluster's Unix socket, as pgBackRest reaches it."
    )
    pgbackrest_full_days: float = Field(
        7,
        description="PostgreSQL: a full backup when the newest is older than this; differential otherwise.",
        gt=0,
    )
    pgbackrest_start_command: str | None = Field(
        None,
        description="PostgreSQL: how `hovor backup restore` starts the restored cluster (e.g. "
        "`pg_ctlcluster 15 main start`) to replay the ledger into it; without it the restore stops "
        "after pgBackRest and says what to run.",
    )
    ledger_ship_seconds: float = Field(
        10,
        description="How often `hovor serve` ships the restore ledger (deletions, erasures, shredded keys) "
        "to every backup destination.",
        gt=0,
    )
    secret_key: str = Field(
        "dev-secret",
        description="Server secret for keyed pseudonyms and signed values. Must be set in production.",
    )
    timezone: str = Field(
        "Europe/Prague",
        description="Default time zone of new tenants; wire timestamps are rendered in the tenant's zone.",
    )
    access_token_ttl_seconds: int = Field(3600, description="Lifetime of a login access token.", gt=0)
    refresh_token_ttl_seconds: int = Field(
        30 * 24 * 3600, description="Lifetime of a login refresh token.", gt=0
    )
    auth_cache_seconds: float = Field(
        2.0,
        description="How long a worker may reuse a resolved token without asking the database again. "
        "A revocation elsewhere takes effect in other workers within this time; 0 disables the cache.",
        ge=0,
    )
    api_token_ttl_days: int = Field(
        365, description="Default lifetime of a long-lived API token issued to an integration.", gt=0
    )
    max_body_bytes: int = Field(
        1_000_000, description="Largest JSON request body accepted; larger bodies get 413.", gt=0
    )
    max_url_bytes: int = Field(
        8192,
        description="Longest request target (path and query string) accepted; longer ones get 414 in the "
        "API's envelope, well below the HTTP server's own limit.",
        gt=0,
    )
    max_upload_bytes: int = Field(
        2 * 1024**3, description="Largest file upload (recording, attachment, e-mail) accepted.", gt=0
    )
    max_email_bytes: int = Field(
        50 * 1024**2, description="Largest raw e-mail accepted by the import (it is parsed in memory).", gt=0
    )
    max_page_size: int = Field(1000, description="Largest `take` a list request may ask for.", gt=0)
    default_page_size: int = Field(100, description="`take` used when a list request gives none.", gt=0)
    password_hash_profile: Literal["owasp", "fast"] | None = Field(
        None,
        description="Argon2id parameters: 'owasp' (production strength) or 'fast' (tests). "
        "Empty chooses 'fast' in test and 'owasp' otherwise.",
    )
    password_min_length: int = Field(10, description="Shortest password accepted for a user.", ge=8)
    login_throttle_after: int = Field(
        5,
        description="Failed sign-ins of one account (from anywhere, in 15 minutes) before it is slowed.",
        ge=1,
    )
    login_throttle_seconds: float = Field(
        1, description="The first slowed sign-in's delay; each further failure doubles it.", ge=0
    )
    login_throttle_max_seconds: float = Field(30, description="The longest delay of a sign-in.", ge=0)
    totp_required: bool = Field(
        True,
        description="Users whose role can change who may do what, or holds a DPO right, must sign in "
        "with a one-time code (TOTP). Turning it off is for a deployment whose sign-in happens in front "
        "of hovor; production refuses it off unless HOVOR_TOTP_OFF_REASON says why.",
    )
    totp_off_reason: str | None = Field(
        None, description="Why the second factor is off (required in production when it is)."
    )
    public_url: str | None = Field(
        None,
        description="The address browsers use (https://kc.example.com), when a reverse proxy rewrites "
        "Host: changes through a web session must come from a page of this origin.",
    )
    session_idle_minutes: int = Field(
        30, description="A web session (cookie) ends after this long without a request.", gt=0
    )
    session_max_hours: int = Field(
        12, description="A web session ends this long after sign-in however active it is.", gt=0
    )
    platform_token_ttl_seconds: int = Field(
        3600, description="Lifetime of a platform operator's sign-in and of their entry into a tenant.", gt=0
    )
    sql_echo: bool = Field(False, description="Log every SQL statement (never in production).")

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment == "production":
            if self.secret_key in PLACEHOLDER_SECRETS or len(self.secret_key) < 32:
                raise ValueError(
                    "HOVOR_SECRET_KEY must be set to a random value of at least 32 characters in production"
                )
            if self.sql_echo:
                raise ValueError("HOVOR_SQL_ECHO must be off in production: it would log personal data")
            if not self.totp_required and not self.totp_off_reason:
                raise ValueError(
                    "HOVOR_TOTP_REQUIRED=false in production needs HOVOR_TOTP_OFF_REASON "
                    "(who signs people in instead)"
                )
            if self.password_hash_profile == "fast":
                raise ValueError("HOVOR_PASSWORD_HASH_PROFILE=fast is not allowed in production")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hovor.db').resolve()}"

    @property
    def resolved_blob_store_url(self) -> str:
        if self.blob_store_url:
            return self.blob_store_url
        return (self.data_dir / "blobs").resolve().as_uri()

    @property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "master.key"

    @property
    def resolved_audit_signing_key_file(self) -> Path:
        return self.audit_signing_key_file or self.data_dir / "audit-signing.key"

    @property
    def hash_profile(self) -> Literal["owasp", "fast"]:
        if self.password_hash_profile:
            return self.password_hash_profile
        return "fast" if self.environment == "test" else "owasp"


@lru_cache
def get_settings() -> Settings:
    return Settings()
