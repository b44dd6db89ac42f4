"""The pieces a package is made of, shared by the subject export and the contract-end export: a ZIP
written as a stream (no seek, so it can go straight into an encryptor), safe file names, and an
e-mail as hovor holds it in RFC 5322 form."""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

from hovor.core.db import utcnow

# Bytes the ZIP writer may hold before they go on to the encryptor.
FLUSH = 1 << 20
EXTENSIONS = {"audio/wav": "wav", "audio/mpeg": "mp3", "audio/ogg": "ogg"}


# --- the ZIP as a stream -------------------------------------------------------------------------
class _Sink(io.RawIOBase):
    """Where the ZIP writer writes: bytes wait here until the stream takes them. It cannot seek,
    so the writer puts each entry's sizes after its data (a data descriptor)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.held = 0
        self.at = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        piece = bytes(data)
        self.parts.append(piece)
        self.held += len(piece)
        self.at += len(piece)
        return len(piece)

    def tell(self) -> int:
        return self.at

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts, self.held = [], 0
        return out


Entry = tuple[str, bool, Iterable[bytes]]  # path, compressed, pieces


class Zipped:
    """The ZIP of ``entries`` as a stream of bytes; its digest once the stream is consumed."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = entries
        self.digest = hashlib.sha256()

    def _out(self, sink: _Sink) -> bytes:
        data = sink.take()
        self.digest.update(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        sink = _Sink()
        made = utcnow().timetuple()[:6]
        with zipfile.ZipFile(sink, "w") as archive:
            for path, compressed, pieces in self.entries:
                info = zipfile.ZipInfo(path, date_time=made)
                info.compress_type = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
                with archive.open(info, "w", force_zip64=not compressed) as out:
                    for piece in pieces:
                        out.write(piece)
                        if sink.held >= FLUSH:
                            yield self._out(sink)
                if sink.held >= FLUSH:
                    yield self._out(sink)
        yield self._out(sink)


def safe_name(name: str) -> str:
    cleaned = re.sub(r"[^\w.\- ]+", "_", name).strip(" .") or "file"
    return cleaned[:120]


def eml(row: dict[str, Any], activity: dict[str, Any] | None) -> bytes:
    """An e-mail as hovor holds it, in RFC 5322 form (what a mail program opens). The legacy API
    of the standard library's ``email``: a fifth of the modern one's cost for the same message."""
    message = MIMEMultipart("alternative")
    headers = row.get("headers") or {}
    message["Subject"] = Header((row.get("title") or "").replace("\n", " "), "utf-8").encode()
    for key in ("From", "To", "Cc"):
        value = headers.get(key)
        if isinstance(value, str) and value and "\n" not in value:
            pairs = email.utils.getaddresses([value])
            message[key] = ", ".join(email.utils.formataddr(pair, charset="utf-8") for pair in pairs)
    for key in ("Date", "Message-ID"):
        value = headers.get(key)
        # A Message-ID the redaction rewrote holds no address any more: it is left out.
        if isinstance(value, str) and value and "\n" not in value and value.isascii() and "[" not in value:
            message[key] = value
    if "Date" not in message and activity and activity.get("time"):
        with contextlib.suppress(ValueError):
            message["Date"] = email.utils.format_datetime(dt.datetime.fromisoformat(str(activity["time"])))
    message.attach(MIMEText(row.get("text") or "", "plain", "utf-8"))
    if row.get("html"):
        message.attach(MIMEText(row["html"], "html", "utf-8"))
    return message.as_bytes()
