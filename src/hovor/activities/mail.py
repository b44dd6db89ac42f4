"""Parsing raw RFC 822 messages with the standard library's ``email`` package.

``policy.default`` decodes headers (RFC 2047) and bodies in their declared charsets
(ISO-8859-2, Windows-1250, UTF-8 ...) to text; attachments and inline images come out as bytes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, MIMEPart
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

# Headers kept with the message. Received chains and the like carry routing detail (and IP
# addresses) nobody needs to run a contact centre.
KEPT_HEADERS = ("From", "To", "Cc", "Reply-To", "Date", "Subject", "Message-ID", "In-Reply-To", "References")


@dataclass
class ParsedPart:
    filename: str
    mime: str
    data: bytes
    inline: bool
    cid: str | None


@dataclass
class ParsedMail:
    subject: str | None
    sender: str | None
    recipients: list[str]
    date: dt.datetime | None
    text: str | None
    html: str | None
    headers: dict[str, str]
    parts: list[ParsedPart] = field(default_factory=list)


def _text(part: MIMEPart | None) -> str | None:
    if part is None:
        return None
    try:
        return str(part.get_content())
    except (LookupError, UnicodeDecodeError):
        # An unknown or lying charset: keep what can be read rather than lose the message.
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else None


# Bounds a real message stays far below. The standard library parses nested multiparts by recursion:
# a small message of a thousand nested parts exhausts the interpreter's stack.
MAX_PARTS = 1000
MAX_DEPTH = 30
_PART_HEADER = re.compile(rb"^content-type:", re.IGNORECASE | re.MULTILINE)


class Unparseable(ValueError):
    """A message hovor will not parse; the text says why (no part of the message is in it)."""


def _depth(part: MIMEPart, limit: int) -> int:
    """How deep ``part``'s multiparts nest, walked without recursion, giving up past ``limit``."""
    deepest, stack = 0, [(part, 1)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        if current.is_multipart():
            stack.extend((child, depth + 1) for child in current.iter_parts())
    return deepest


def parse(raw: bytes) -> ParsedMail:
    if len(_PART_HEADER.findall(raw)) > MAX_PARTS:
        raise Unparseable(f"The message has more than {MAX_PARTS} parts.")
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(msg, EmailMessage)
        if _depth(msg, MAX_DEPTH) > MAX_DEPTH:
            raise Unparseable(f"The message's parts are nested more than {MAX_DEPTH} deep.")
        return _read(msg)
    except RecursionError:
        raise Unparseable(f"The message's parts are nested more than {MAX_DEPTH} deep.") from None


def _read(msg: EmailMessage) -> ParsedMail:
    headers = {}
    for name in KEPT_HEADERS:
        value = msg.get(name)
        if value is not None:
            headers[name] = str(value)[:4000]
    senders = getaddresses([str(msg.get("From", ""))])
    recipients = [addr for _, addr in getaddresses([str(v) for v in msg.get_all("To", [])]) if addr]
    date = None
    if msg.get("Date"):
        try:
            date = parsedate_to_datetime(str(msg["Date"]))
            if date.tzinfo is None:
                date = date.replace(tzinfo=dt.UTC)
        except (TypeError, ValueError):
            date = None
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    body_parts = {id(p) for p in (text_part, html_part) if p is not None}
    parts: list[ParsedPart] = []
    forwarded = _forwarded(msg)
    inside = {id(p) for message in forwarded for p in message.walk()}
    for message in forwarded:
        eml = _as_eml(message, len(parts) + 1)
        if eml is not None:
            parts.append(eml)
    for part in msg.walk():
        if part.is_multipart() or id(part) in body_parts or id(part) in inside:
            continue
        disposition = part.get_content_disposition()
        cid = part.get("Content-ID")
        filename = part.get_filename()
        if disposition is None and cid is None and filename is None:
            continue  # an alternative body we did not pick
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        parts.append(
            ParsedPart(
                filename=filename or (f"inline-{len(parts) + 1}" if cid else f"attachment-{len(parts) + 1}"),
                mime=part.get_content_type(),
                data=data,
                inline=disposition == "inline" or (cid is not None and disposition != "attachment"),
                cid=str(cid).strip("<>") if cid else None,
            )
        )
    subject = msg.get("Subject")
    return ParsedMail(
        subject=str(subject) if subject is not None else None,
        sender=senders[0][1] if senders and senders[0][1] else None,
        recipients=recipients,
        date=date,
        text=_with_forwarded(_text(text_part), forwarded),
        html=_text(html_part),
        headers=headers,
        parts=parts,
    )


# --- forwarded messages ---------------------------------------------------------------------------
# What a mail client shows of a forwarded message, in this order.
FORWARDED_HEADERS = ("From", "Date", "Subject", "To", "Cc")


def _forwarded(msg: EmailMessage) -> list[EmailMessage]:
    """The messages forwarded as attachments (``message/rfc822`` parts), outermost first; those
    inside a forwarded message travel with it."""
    found: list[EmailMessage] = []
    inside: set[int] = set()
    for part in msg.walk():
        if id(part) in inside or part.get_content_type() != "message/rfc822":
            continue
        payload = part.get_payload()
        message = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(message, EmailMessage):
            found.append(message)
            inside |= {id(p) for p in message.walk()}
    return found


def _as_eml(message: EmailMessage, number: int) -> ParsedPart | None:
    """A forwarded message as the attachment a mail client saves: the message itself, ``.eml``;
    None when it cannot be written out again (its text is kept all the same)."""
    subject = (_header(message, "Subject") or "").strip()
    stem = re.sub(r"[^\w\- ]+", "_", subject)[:80].strip() or f"forwarded-{number}"
    data = None
    for write in (message.as_bytes, lambda: message.as_bytes(policy=policy.compat32)):
        try:
            data = write()
            break
        except Exception:  # noqa: S112 - headers the serializer cannot fold again: try as they came
            continue
    if data is None:
        return None
    return ParsedPart(filename=f"{stem}.eml", mime="message/rfc822", data=data, inline=False, cid=None)


def _with_forwarded(text: str | None, forwarded: list[EmailMessage]) -> str | None:
    """The message's text followed by each forwarded message's headers and text, as a mail client
    shows it, so the words of a forwarded message are searched, found and erased with the rest."""
    blocks = [text] if text else []
    for message in forwarded:
        lines = ["---------- Forwarded message ----------"]
        lines += [f"{name}: {value}" for name in FORWARDED_HEADERS if (value := _header(message, name))]
        body = _text(message.get_body(preferencelist=("plain",)))
        blocks.append("\n".join(lines) + ("\n\n" + body if body else ""))
    return "\n\n".join(blocks) if blocks else None


def _header(message: EmailMessage, name: str) -> str | None:
    """A header's text, or its raw form where the parser cannot read it (group syntax, say)."""
    try:
        value = message.get(name)
        return str(value) if value is not None else None
    except Exception:
        return next((str(text) for key, text in message.raw_items() if key.lower() == name.lower()), None)
