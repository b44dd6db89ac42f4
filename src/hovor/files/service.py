"""Storing, reading and destroying blobs.

Writing: the object is encrypted and stored before the owning transaction commits; the row and
its wrapped data key commit with the owner. Destroying always runs in this order, so a crash at
any point leaves nothing readable and nothing unfindable:

1. ``destroy_key`` (in the caller's transaction): the wrapped data key is erased and the row
   marked destroyed. From this commit on, no copy of the object can be decrypted.
2. ``reap``: the object is deleted from the store (a missing object is fine), then
3. the row is deleted. Each blob is reaped in its own transaction; a restart finishes the work.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from hovor.core import faults
from hovor.core.config import Settings
from hovor.core.db import new_name, one_of, unit_of_work, utcnow
from hovor.core.errors import PayloadTooLarge
from hovor.files import crypto
from hovor.files.models import Blob, ShreddedKey, TenantKey
from hovor.files.stores import BlobStore, open_store

log = logging.getLogger("hovor.files")


class Unreadable(Exception):
    """The blob's key is destroyed (or its bytes fail authentication)."""


@dataclass
class ByteRange:
    start: int
    end: int  # exclusive


class Files:
    def __init__(self, settings: Settings, store: BlobStore | None = None) -> None:
        self.store = store or open_store(settings.resolved_blob_store_url)
        self.master = crypto.load_master_key(
            settings.resolved_master_key_file, create=settings.environment != "production"
        )

    # --- keys --------------------------------------------------------------------------------
    def _tenant_key(self, session: Session, tenant_id: str, version: int | None = None) -> tuple[int, bytes]:
        stmt = select(TenantKey).where(TenantKey.tenant_id == tenant_id)
        if version is None:
            stmt = stmt.where(TenantKey.destroyed.is_(None)).order_by(TenantKey.version.desc()).limit(1)
        else:
            stmt = stmt.where(TenantKey.version == version)
        row = session.scalars(stmt).first()
        if row is None and version is None:
            # Inserted unless another transaction made the tenant's first key meanwhile (on
            # PostgreSQL this waits for that one to end), then read back: both uploads use one key.
            # Not a savepoint: its rollback would end the unit of work's pending audit entries.
            values = {
                "tenant_id": tenant_id,
                "version": 1,
                "wrapped": crypto.wrap(self.master, crypto.new_key(), tenant_id),
            }
            dialect = session.get_bind().dialect.name
            make = postgresql.insert if dialect == "postgresql" else sqlite.insert
            session.execute(make(TenantKey).values(**values).on_conflict_do_nothing())
            row = session.scalars(stmt).first()
        if row is None or row.wrapped is None:
            raise Unreadable("the tenant key is destroyed")
        return row.version, crypto.unwrap(self.master, row.wrapped, tenant_id)

    # --- write -------------------------------------------------------------------------------
    def put(
        self,
        session: Session,
        tenant_id: str,
        source: Iterable[bytes],
        mime: str,
        max_bytes: int | None = None,
    ) -> Blob:
        """Encrypts and stores ``source`` and adds its row to ``session``."""
        version, tenant_key = self._tenant_key(session, tenant_id)
        return self.adopt(session, self.seal(tenant_id, version, tenant_key, source, mime, max_bytes))

    @staticmethod
    def adopt(session: Session, blob: Blob) -> Blob:
        """Files a sealed blob's row in ``session`` (flushed, so rows that reference it can follow)."""
        session.add(blob)
        session.flush()
        return blob

    def writing_key(self, factory: sessionmaker[Session], tenant_id: str) -> tuple[int, bytes]:
        """The tenant key to encrypt with, made (in a short transaction of its own) on first use."""
        with unit_of_work(factory) as session:
            return self._tenant_key(session, tenant_id)

    def seal(
        self,
        tenant_id: str,
        version: int,
        tenant_key: bytes,
        source: Iterable[bytes],
        mime: str,
        max_bytes: int | None = None,
        store_key: str | None = None,
    ) -> Blob:
        """Encrypts and stores ``source``; returns its row, not yet added to any session.

        Needs no transaction, so a large upload is encrypted and written without holding a
        database lock; the caller adds the row in the transaction that files it. A caller that
        must be able to remove the object should it die before filing it names the object first
        (``store_key``, from :func:`new_store_key`) and keeps that name where a retry finds it."""
        name = new_name("blob")
        data_key = crypto.new_key()
        encryptor = crypto.Encryptor(data_key, name)

        def limited() -> Iterator[bytes]:
            seen = 0
            for piece in source:
                seen += len(piece)
                if max_bytes is not None and seen > max_bytes:
                    raise PayloadTooLarge(f"The file is larger than {max_bytes} bytes.")
                yield piece

        store_key = store_key or new_store_key()
        sealed = encryptor.encrypt(limited())
        header = next(sealed)
        stored = self.store.put(store_key, _prepend(header, sealed))
        return Blob(
            tenant_id=tenant_id,
            name=name,
            store_key=store_key,
            key_version=version,
            wrapped_key=crypto.wrap(tenant_key, data_key, f"{tenant_id}/{name}"),
            header=header,
            size=encryptor.plain_size,
            stored_size=stored,
            mime=mime,
        )

    # --- read --------------------------------------------------------------------------------
    def read(
        self,
        session: Session,
        blob: Blob,
        byte_range: ByteRange | None = None,
        keys: dict[tuple[str, int], bytes] | None = None,
    ) -> Iterator[bytes]:
        """Plaintext bytes of ``blob`` (or of a range of it), decrypted chunk by chunk. A caller
        reading many blobs in a row passes ``keys`` (its own dict, dropped when it is done), so
        each tenant key is read and unwrapped once."""
        if blob.wrapped_key is None:
            raise Unreadable("the blob is destroyed")
        try:
            known = (blob.tenant_id, blob.key_version)
            tenant_key = keys.get(known) if keys is not None else None
            if tenant_key is None:
                _, tenant_key = self._tenant_key(session, blob.tenant_id, blob.key_version)
                if keys is not None:
                    keys[known] = tenant_key
            data_key = crypto.unwrap(tenant_key, blob.wrapped_key, f"{blob.tenant_id}/{blob.name}")
        except crypto.IntegrityError as exc:
            raise Unreadable(str(exc)) from None
        layout = crypto.Layout(blob.header, blob.size)
        start, end = (0, blob.size) if byte_range is None else (byte_range.start, byte_range.end)
        if blob.size == 0 or end <= start:
            # Still authenticate the (empty) final chunk so a swapped object is caught.
            return self._plain(data_key, blob, layout, 0, 0, 0, 0)
        first, last = start // layout.chunk_size, (end - 1) // layout.chunk_size
        return self._plain(data_key, blob, layout, first, last, start, end)

    def _plain(
        self, data_key: bytes, blob: Blob, layout: crypto.Layout, first: int, last: int, start: int, end: int
    ) -> Iterator[bytes]:
        span_start, span_end = layout.stored_span(first, last)
        sealed = self.store.read(blob.store_key, span_start, span_end)
        offset = first * layout.chunk_size
        try:
            for chunk in crypto.decrypt_chunks(data_key, blob.name, layout, first, last, sealed):
                lo, hi = max(start - offset, 0), min(end - offset, len(chunk))
                offset += len(chunk)
                if hi > lo:
                    yield chunk[lo:hi]
        except crypto.IntegrityError as exc:
            raise Unreadable(str(exc)) from None

    # --- destroy -----------------------------------------------------------------------------
    def destroy_key(self, session: Session, blob: Blob) -> None:
        """Step 1: make the blob unreadable, in the caller's transaction."""
        if blob.wrapped_key is not None:
            _remember_shredded(session, blob.tenant_id, [blob.name])
        blob.wrapped_key = None
        blob.destroyed = blob.destroyed or utcnow()
        session.flush()

    def destroy_keys(self, session: Session, tenant_id: str, names: list[str]) -> int:
        """Step 1 for many blobs at once (an erasure, a sweep): one statement. Returns how many
        keys were destroyed now (blobs destroyed earlier are left as they are)."""
        if not names:
            return 0
        live = list(
            session.scalars(
                select(Blob.name).where(
                    Blob.tenant_id == tenant_id, one_of(Blob.name, names), Blob.wrapped_key.is_not(None)
                )
            )
        )
        _remember_shredded(session, tenant_id, live)
        result = session.execute(
            update(Blob)
            .where(Blob.tenant_id == tenant_id, one_of(Blob.name, names), Blob.wrapped_key.is_not(None))
            .values(wrapped_key=None, destroyed=utcnow())
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def finish(self, factory: sessionmaker[Session], tenant_id: str, names: list[str]) -> None:
        """Steps 2 and 3 for blobs whose keys a transaction just destroyed (a sweep's chunk): their
        objects, then their rows. What this leaves (a store that cannot be reached) the reaper does."""
        with factory() as session:
            pending = session.execute(
                select(Blob.name, Blob.store_key).where(
                    Blob.tenant_id == tenant_id, one_of(Blob.name, names), Blob.destroyed.is_not(None)
                )
            ).all()
        faults.point("blob.after_key")
        removed = []
        for name, store_key in pending:
            try:
                self.store.delete(store_key)
            except Exception:
                log.warning("could not delete a destroyed blob's object yet; the reaper will retry")
                continue
            removed.append(name)
        faults.point("blob.after_object")
        if removed:
            with unit_of_work(factory) as session:
                session.execute(delete(Blob).where(Blob.tenant_id == tenant_id, one_of(Blob.name, removed)))

    def reap(self, factory: sessionmaker[Session], limit: int = 1000, batch: int = 1000) -> int:
        """Steps 2 and 3 for destroyed blobs: delete the objects, then their rows. Idempotent.

        Objects are deleted outside any write transaction (a slow store must not hold SQLite's
        write lock), a batch at a time, and the rows of the batch go in one transaction; a blob
        whose object cannot be deleted now is skipped and retried next time."""
        done = 0
        failed: set[tuple[str, str]] = set()
        while done < limit:
            with factory() as session:
                pending = session.execute(
                    select(Blob.tenant_id, Blob.name, Blob.store_key)
                    .where(Blob.destroyed.is_not(None))
                    .order_by(Blob.destroyed)
                    .limit(len(failed) + min(batch, limit - done))
                ).all()
            todo = [row for row in pending if (row.tenant_id, row.name) not in failed]
            if not todo:
                return done
            faults.point("blob.after_key")
            removed: list[tuple[str, str]] = []
            for tenant_id, name, store_key in todo:
                try:
                    self.store.delete(store_key)
                except Exception:
                    log.warning("could not delete a destroyed blob's object yet; will retry")
                    failed.add((tenant_id, name))
                    continue
                removed.append((tenant_id, name))
            faults.point("blob.after_object")
            if removed:
                with unit_of_work(factory) as session:
                    for tenant_id in sorted({t for t, _ in removed}):
                        names = [n for t, n in removed if t == tenant_id]
                        session.execute(delete(Blob).where(Blob.tenant_id == tenant_id, Blob.name.in_(names)))
            done += len(removed)
        return done


def _remember_shredded(session: Session, tenant_id: str, names: list[str]) -> None:
    """The names of blobs whose keys this transaction destroys, for the restore ledger: a backup
    from before holds their wrapped keys, which a restore must destroy again."""
    if not names:
        return
    known = set(
        session.scalars(
            select(ShreddedKey.name).where(
                ShreddedKey.tenant_id == tenant_id, one_of(ShreddedKey.name, names)
            )
        )
    )
    now = utcnow()
    fresh = sorted(set(names) - known)
    if fresh:
        session.execute(insert(ShreddedKey), [{"tenant_id": tenant_id, "name": n, "at": now} for n in fresh])


def new_store_key() -> str:
    """A random object name in the store."""
    return secrets.token_hex(16)


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """One ``bytes=a-b`` range (what players send); None for a full read. ValueError if unsatisfiable."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None  # multi-range or unknown units: answer with the whole file
    first, _, last = spec.strip().partition("-")
    if first == "":
        if not last.isdigit() or int(last) == 0:
            raise ValueError("unsatisfiable range")
        start, end = max(size - int(last), 0), size
    else:
        if not first.isdigit() or (last and not last.isdigit()):
            raise ValueError("malformed range")
        start = int(first)
        end = min(int(last) + 1, size) if last else size
    if start >= size or end <= start:
        raise ValueError("unsatisfiable range")
    return ByteRange(start, end)
