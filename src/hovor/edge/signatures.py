"""Attack signatures in the spirit of the OWASP Core Rule Set's anomaly scoring: each rule that
matches adds its severity (critical 5, error 4, warning 3, notice 2) to the request's score.

A small, deliberately conservative set: SQL injection, path traversal, script injection, command
injection and well-known scanners. The URL (path and query, percent-decoded twice, as attacks
encode themselves) and a few headers are always inspected; a request whose URL or headers reach
the blocking score is refused before any route sees it. Request bodies are inspected too, but a
contact centre's bodies legitimately hold HTML e-mails and customers' words: a body's hits count
against the client only when the request was refused anyway (never for an accepted, authenticated
write), and never block it by themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

CRITICAL, ERROR, WARNING, NOTICE = 5, 4, 3, 2


@dataclass(frozen=True)
class Rule:
    name: str
    severity: int
    pattern: re.Pattern[str]


def _r(name: str, severity: int, pattern: str) -> Rule:
    return Rule(name, severity, re.compile(pattern, re.IGNORECASE))


RULES: tuple[Rule, ...] = (
    # SQL injection
    _r("sqli-union", CRITICAL, r"\bunion\b[\s/*()]+(?:all[\s/*()]+)?select\b"),
    _r("sqli-tautology", CRITICAL, r"['\"`]\s*(?:or|and)\s+['\"`]?\w+['\"`]?\s*(?:=|like)\s*['\"`]?\w+"),
    _r("sqli-comment", ERROR, r"['\"`]\s*(?:;|\)\s*;?)?\s*(?:--|#|/\*)"),
    _r(
        "sqli-stacked",
        CRITICAL,
        r";\s*(?:drop|delete|insert|update|alter|create|truncate)\s+(?:table|from|into)?",
    ),
    _r(
        "sqli-functions",
        CRITICAL,
        r"\b(?:sleep|benchmark|pg_sleep|waitfor\s+delay|load_file|xp_cmdshell)\s*\(",
    ),
    _r("sqli-schema", ERROR, r"\binformation_schema\b|\bpg_catalog\b|\bsqlite_master\b"),
    # Path traversal and file access
    _r("traversal", CRITICAL, r"(?:^|[/\\])\.\.(?:[/\\]|$)"),
    _r("file-access", CRITICAL, r"/etc/(?:passwd|shadow|hosts)|\b(?:boot|win)\.ini\b|/proc/self/"),
    _r("null-byte", CRITICAL, r"\x00"),
    # Script injection
    _r("xss-script", CRITICAL, r"<\s*script\b"),
    _r("xss-handler", ERROR, r"<[^>]+\bon(?:error|load|mouseover|focus|click)\s*="),
    _r("xss-scheme", ERROR, r"\bjavascript\s*:"),
    # Command injection
    _r(
        "cmd-injection", CRITICAL, r"(?:;|\|\||&&|\$\(|`)\s*(?:cat|ls|id|whoami|uname|wget|curl|nc|bash|sh)\b"
    ),
    # Scanners that announce themselves
    _r("scanner", CRITICAL, r"\b(?:sqlmap|nikto|nmap|masscan|acunetix|nessus|dirbuster|gobuster|wpscan)\b"),
)
HEADERS = (b"user-agent", b"referer", b"x-forwarded-host", b"cookie")
# A URL of only these characters (and no "..") cannot match any rule, decoded or not: the common
# case (``/api/v6/contacts/contacts_1f3a.json?take=20&filter[field]=time``) is not decoded at all.
PLAIN_URL = re.compile(r"[A-Za-z0-9/_\-.=&,:~?\[\]]*")


def decoded(raw: str) -> str:
    """Percent-decoded twice: ``%252e%252e`` is ``..`` after two rounds."""
    once = unquote_plus(raw, errors="replace")
    return unquote_plus(once, errors="replace")


def plain_url(raw: str) -> bool:
    return PLAIN_URL.fullmatch(raw) is not None and ".." not in raw


def score(text: str, rules: tuple[Rule, ...] = RULES) -> tuple[int, list[str]]:
    """The anomaly score of ``text`` and the names of the rules that matched. Each rule searches
    alone: most begin with a literal or a class the engine finds quickly, which one alternation of
    them all cannot (it took 79 µs on a list page's URL, against 61 for the fourteen)."""
    total, names = 0, []
    for rule in rules:
        if rule.pattern.search(text):
            total += rule.severity
            names.append(rule.name)
    return total, names
