"""The firewall over real HTTP: two uvicorn worker processes, clients on distinct loopback
addresses, the shared state once in the database and once in Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import migrated_url
from hovor.edge import signatures
from hovor.edge.firewall import client_key, networks, resolve_client
from hovor.edge.store import DbStore, Policy

PROXY = "127.0.0.9"
HERE = Path(__file__).parent
ALLOWED = "127.0.0.6"
REDIS_URL = "redis://127.0.0.1:6379/13"


# --- who the client is -------------------------------------------------------------------------
def test_ipv6_clients_are_keyed_by_their_64() -> None:
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.7") == client_key("192.0.2.7") == "192.0.2.7"
    assert client_key("testclient") is None


def test_forwarded_for_is_read_right_to_left_from_trusted_proxies_only() -> None:
    trusted = networks(["10.0.0.0/8", "127.0.0.9"])
    # From an untrusted peer the header is ignored, whatever it says.
    assert resolve_client("203.0.113.5", "198.51.100.1", trusted) == "203.0.113.5"
    # From a trusted proxy: the last hop that is not a proxy; what the client itself wrote before
    # it (to the left) is not believed.
    assert resolve_client("127.0.0.9", "6.6.6.6, 198.51.100.1", trusted) == "198.51.100.1"
    assert resolve_client("127.0.0.9", "6.6.6.6, 198.51.100.1, 10.1.2.3", trusted) == "198.51.100.1"
    assert resolve_client("127.0.0.9", "198.51.100.1, not-an-ip", trusted) == "127.0.0.9"


def test_signatures_catch_attacks_and_spare_a_contact_centre() -> None:
    for attack in (
        "/api/v6/contacts.json?q=' or 'a'='a",
        "/api/v6/contacts.json?q=1 UNION SELECT password FROM users",
        signatures.decoded("/api/v6/files/%252e%252e/%252e%252e/etc/passwd"),
        "/api/v6/contacts.json?q=<script>alert(1)</script>",
        "/x?name=a;cat /etc/hosts",
        "sqlmap/1.7.2#stable (https://sqlmap.org)",
    ):
        assert signatures.score(attack)[0] >= signatures.CRITICAL, attack
    for benign in (
        "/api/v6/contacts.json?q=O'Brien&take=20",
        "/api/v6/activities.json?filter[field]=time&filter[operator]=gte&filter[value]=2026-01-01",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        "Dobrý den, volám ohledně objednávky č. 2026-118, pan Novák říkal, že 'to bude do pátku'.",
    ):
        assert signatures.score(benign)[0] < signatures.CRITICAL, benign


# --- two worker processes ---------------------------------------------------------------------------
def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    base: str
    env: dict[str, str]

    def request(
        self, source: str, method: str = "GET", path: str = "/healthz", **kw: object
    ) -> httpx.Response:
        """A fresh connection from ``source`` (so the kernel may hand it to either worker)."""
        transport = httpx.HTTPTransport(local_address=source)
        with httpx.Client(transport=transport, base_url=self.base, timeout=10) as client:
            return client.request(method, path, **kw)  # type: ignore[arg-type]

    def fail_login(self, source: str, **kw: object) -> httpx.Response:
        body = {"username": f"nobody-{time.monotonic_ns()}", "password": "wrong"}
        return self.request(source, "POST", "/api/v6/login.json", json=body, **kw)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hovor", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture(scope="module", params=["database", "redis"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp(f"fw-{request.param}")
    env = {
        **os.environ,
        "HOVOR_ENVIRONMENT": "test",
        "HOVOR_DATA_DIR": str(tmp / "var"),
        "HOVOR_DATABASE_URL": migrated_url("sqlite", tmp, "_fw"),
        "HOVOR_FIREWALL_ALLOW": ALLOWED,
        "HOVOR_FIREWALL_SYNC_SECONDS": "0.2",
        "HOVOR_JOBS_IN_PROCESS": "false",
    }
    env.pop("HOVOR_FIREWALL_REDIS_URL", None)
    if request.param == "redis":
        # Keys of their own: another test run may share this Redis.
        env["HOVOR_FIREWALL_REDIS_URL"] = REDIS_URL
        env["HOVOR_FIREWALL_REDIS_PREFIX"] = f"hovor-test:{uuid.uuid4().hex}"
    port = _port()
    # As `hovor serve --workers 2 --behind-proxy PROXY` runs it, with each answer tagged by the
    # process that gave it (tests/served_app.py).
    env["HOVOR_TRUSTED_PROXIES"] = PROXY
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "served_app:create", "--factory", "--app-dir", str(HERE)),
            *("--port", str(port), "--workers", "2", "--no-proxy-headers", "--no-access-log"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    served = Served(f"http://127.0.0.1:{port}", env)
    try:
        seen: set[str] = set()
        deadline = time.monotonic() + 30
        # Both workers up: their process ids both answer.
        while len(seen) < 2 and time.monotonic() < deadline:
            try:
                seen.add(served.request("127.0.0.8").headers["x-hovor-process"])
            except httpx.TransportError:
                time.sleep(0.1)
        if len(seen) < 2:
            proc.kill()
            pytest.fail(
                "two workers did not answer: " + (proc.stdout.read() if proc.stdout else b"").decode()[-3000:]
            )
        yield served
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if request.param == "redis":
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            for name in client.scan_iter(env["HOVOR_FIREWALL_REDIS_PREFIX"] + ":*"):
                client.delete(name)


def _banned_everywhere(served: Served, source: str, **kw: object) -> set[str]:
    """Requests from ``source`` until both processes have refused it (or ten seconds passed)."""
    refused_by: set[str] = set()
    deadline = time.monotonic() + 10
    while len(refused_by) < 2 and time.monotonic() < deadline:
        r = served.request(source, **kw)
        if r.status_code == 403 and "retry-after" in r.headers:
            refused_by.add(r.headers["x-hovor-process"])
    return refused_by


def _answered_everywhere(served: Served, source: str) -> set[str]:
    """Requests from ``source`` until both processes have answered it (or five seconds passed)."""
    answered: set[str] = set()
    deadline = time.monotonic() + 5
    while len(answered) < 2 and time.monotonic() < deadline:
        r = served.request(source)
        if r.status_code == 200:
            answered.add(r.headers["x-hovor-process"])
    return answered


def test_five_failed_logins_ban_the_address_in_every_worker(served: Served) -> None:
    source = "127.0.0.5"
    answers = [served.fail_login(source).status_code for _ in range(5)]
    assert answers == [401] * 5
    assert len(_banned_everywhere(served, source)) == 2
    r = served.request(source)
    assert r.status_code == 403 and 500 <= int(r.headers["retry-after"]) <= 601
    assert r.json()["error"] and r.json()["result"] is None
    # Another address is unaffected.
    assert served.request("127.0.0.8").status_code == 200
    listed = served.cli("firewall", "list")
    assert listed.returncode == 0 and source in listed.stdout

    # The platform operator lifts it: every worker lets the address in again.
    lifted = served.cli("firewall", "unban", source)
    assert lifted.returncode == 0 and "1 ban(s) lifted" in lifted.stdout, lifted.stdout + lifted.stderr
    assert len(_answered_everywhere(served, source)) == 2
    # Its score was forgotten with the ban: one more failure does not ban it again.
    assert served.fail_login(source).status_code == 401
    assert served.request(source).status_code == 200


def test_an_allow_listed_address_is_never_banned(served: Served) -> None:
    assert all(served.fail_login(ALLOWED).status_code == 401 for _ in range(8))
    time.sleep(0.5)
    assert all(served.request(ALLOWED).status_code == 200 for _ in range(6))


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(served: Served) -> None:
    spoofer, victim = "127.0.0.7", "127.0.0.77"
    for _ in range(5):
        assert served.fail_login(spoofer, headers={"X-Forwarded-For": victim}).status_code == 401
    assert len(_banned_everywhere(served, spoofer)) == 2  # the peer itself is banned
    # The address it named is not: through the trusted proxy it is answered as before.
    r = served.request(PROXY, headers={"X-Forwarded-For": victim})
    assert r.status_code == 200


def test_two_addresses_in_one_ipv6_64_share_a_score(served: Served) -> None:
    # Three failures from one address and two from another of the same /64: five in all.
    for host in ["2001:db8:1:2::1", "2001:db8:1:2::2"] * 2 + ["2001:db8:1:2::1"]:
        assert served.fail_login(PROXY, headers={"X-Forwarded-For": host}).status_code == 401
    neighbour = {"X-Forwarded-For": "2001:db8:1:2:abcd::3"}
    assert len(_banned_everywhere(served, PROXY, headers=neighbour)) == 2
    # The next /64, and the proxy's own requests, pass.
    assert served.request(PROXY, headers={"X-Forwarded-For": "2001:db8:1:3::1"}).status_code == 200
    assert served.request(PROXY).status_code == 200


def test_an_attack_is_refused_and_counts(served: Served) -> None:
    source = "127.0.0.44"
    r = served.request(source, path="/api/v6/contacts.json?q=1%20UNION%20SELECT%20password%20FROM%20users")
    assert r.status_code == 403 and "retry-after" not in r.headers  # refused, not (yet) banned
    # A critical hit is worth the whole threshold: the address is banned.
    assert len(_banned_everywhere(served, source)) == 2


def test_a_refused_requests_body_counts_its_attack(served: Served) -> None:
    """A body's signatures are scored once the request has been refused (here a failed sign-in):
    one such request bans the address, where five ordinary failures would be needed."""
    source = "127.0.0.45"
    body = {"username": "x' or 'a'='a", "password": "wrong"}
    r = served.request(source, "POST", "/api/v6/login.json", json=body)
    assert r.status_code == 401  # refused for the password, not for the body
    assert len(_banned_everywhere(served, source)) == 2


def test_staff_unban_over_http_and_two_step_sign_in_is_not_scored(served: Served) -> None:
    """Processor staff sign in (password, then the code) and lift a ban through firewall/bans.json;
    the password-only first step of a sign-in with a second factor never counts against the address."""
    import pyotp

    made = served.cli(
        "operator", "create", "--name", "fw-staff", "--title", "Staff", "--password", "staff pw 12345"
    )
    assert made.returncode == 0, made.stderr
    setup = served.cli("operator", "totp", "fw-staff")
    assert setup.returncode == 0, setup.stderr
    secret = setup.stdout.split("secret:")[1].split()[0]
    office = "127.0.0.46"
    step_one = {"username": "fw-staff", "password": "staff pw 12345"}
    for _ in range(7):
        r = served.request(office, "POST", "/api/v6/platform/login.json", json=step_one)
        assert r.status_code == 401 and "one-time code" in r.json()["error"][0], r.text
    time.sleep(0.5)
    assert served.request(office).status_code == 200  # seven first steps: not banned
    signed = served.request(
        office, "POST", "/api/v6/platform/login.json", json={**step_one, "totp": pyotp.TOTP(secret).now()}
    )
    assert signed.status_code == 200, signed.text
    staff = {"X-AUTH-TOKEN": signed.json()["result"]["accessToken"]}

    source = "127.0.0.47"
    for _ in range(5):
        served.fail_login(source)
    assert len(_banned_everywhere(served, source)) == 2
    bans = served.request(office, "GET", "/api/v6/firewall/bans.json", headers=staff).json()["result"]
    mine = [b for b in bans["data"] if b["client"] == source]
    assert len(mine) == 1
    lifted = served.request(office, "DELETE", f"/api/v6/firewall/bans/{mine[0]['name']}.json", headers=staff)
    assert lifted.status_code == 200 and lifted.json()["result"] == {"lifted": 1}
    assert len(_answered_everywhere(served, source)) == 2


def test_a_tenants_office_is_spared_the_noise_but_not_an_attack(served: Served) -> None:
    """A tenant's allow entry (an office, many agents behind one address): failed sign-ins do not
    ban it, an attack signature still does. A platform-wide entry (ALLOWED) is spared everything."""
    made = served.cli("tenant", "create", "office-t", "--title", "Office")
    assert made.returncode == 0, made.stderr
    office = "127.0.0.48"
    listed = served.cli("firewall", "allow", office, "--tenant", "office-t")
    assert listed.returncode == 0, listed.stderr
    time.sleep(0.6)  # the processes' next snapshot
    assert all(served.fail_login(office).status_code == 401 for _ in range(8))
    time.sleep(0.5)
    assert all(served.request(office).status_code == 200 for _ in range(4))
    assert served.request(office, params={"q": "1' UNION SELECT password FROM users--"}).status_code == 403
    assert len(_banned_everywhere(served, office)) == 2
    # The platform-wide entry: the same attack is refused, and the address is not banned for it.
    assert served.request(ALLOWED, params={"q": "1' UNION SELECT password FROM users--"}).status_code == 403
    time.sleep(0.5)
    assert served.request(ALLOWED).status_code == 200


def test_an_identified_clients_refusals_pause_its_token_not_the_office(served: Served) -> None:
    """Refused clicks of an agent with a valid token count against the token, however it is sent: past
    ten a minute (per worker) it is paused (429), while the shared address and a colleague's token
    go on. They once scored the address, and one clumsy agent banned the whole office."""
    assert served.cli("tenant", "create", "paused-t", "--title", "Paused").returncode == 0
    tokens = []
    for login in ("paused-op1", "paused-op2"):
        made = served.cli(
            "user",
            "create",
            "--tenant",
            "paused-t",
            "--name",
            login,
            "--title",
            "Agent",
            "--role",
            "operator",
        )
        assert made.returncode == 0, made.stderr
        issued = served.cli("user", "token", "--name", login)
        assert issued.returncode == 0, issued.stderr
        tokens.append(issued.stdout.strip())
    office = "127.0.0.55"
    clumsy, colleague = ({"X-AUTH-TOKEN": t} for t in tokens)
    # The same token spelt two ways: in the header, and as a quoted cookie (which the API unquotes).
    spellings = [clumsy, {"Cookie": f'c_user="{tokens[0]}"'}]
    answers = [
        served.request(office, path="/api/v6/auditLog.json", headers=spellings[i % 2]).status_code
        for i in range(60)
    ]
    # Each worker counts its own: the first ten are refusals wherever they land, then pauses come.
    assert set(answers) == {403, 429} and answers[:10] == [403] * 10, answers
    time.sleep(0.5)  # past the workers' ban sync: nothing was banned
    assert served.request(office).status_code == 200
    assert served.request(office, path="/api/v6/whoim.json", headers=colleague).status_code == 200
    paused = [served.request(office, path="/api/v6/whoim.json", headers=clumsy) for _ in range(6)]
    assert any(r.status_code == 429 and int(r.headers["retry-after"]) <= 61 for r in paused)


def _at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Runs the calls together, as many threads as calls are given (at most 60)."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> httpx.Response:
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_parallel_guesses_from_one_address_check_five_passwords(served: Served) -> None:
    """40 wrong sign-ins sent 8 at a time from one address: each attempt is counted before its
    password is checked, across both workers, so no more than five are checked (401); the rest are
    refused as the ban refuses them (403, Retry-After) without a check. Counted after the answer,
    as before, 10 (one worker) or 13 (two) passwords were checked."""
    source = "127.0.0.60"
    answers: list[httpx.Response] = []
    for _ in range(5):
        answers += _at_once([lambda: served.fail_login(source) for _ in range(8)])
    checked = [r for r in answers if r.status_code == 401]
    # Refused unchecked: 429 while attempts are in use, 403 once the five failures banned it.
    refused = [r for r in answers if r.status_code in (403, 429)]
    assert len(checked) == 5 and len(refused) == 35, sorted(r.status_code for r in answers)
    assert all(int(r.headers["retry-after"]) > 0 for r in refused)
    assert any(r.status_code == 403 for r in refused)
    assert len(_banned_everywhere(served, source)) == 2
    assert served.cli("firewall", "unban", source).returncode == 0


def test_right_passwords_at_once_ban_nothing(served: Served) -> None:
    """Six extractor workers signing in at once from one address, all with the right password:
    the attempts in flight count against the address while they are checked (the sixth may be
    told to wait, 429), but only failures ban it, and each right password is given back."""
    assert served.cli("tenant", "create", "busy-t", "--title", "Busy").returncode == 0
    made = served.cli(
        *("user", "create", "--tenant", "busy-t", "--name", "busy-int", "--title", "Extractor"),
        *("--role", "integration", "--password", "kůň pije z potoka"),
    )
    assert made.returncode == 0, made.stderr
    source = "127.0.0.80"
    right = {"username": "busy-int", "password": "kůň pije z potoka"}
    answers = _at_once(
        [lambda: served.request(source, "POST", "/api/v6/login.json", json=right) for _ in range(6)]
    )
    codes = sorted(r.status_code for r in answers)
    assert set(codes) <= {200, 429} and codes.count(200) >= 5, codes
    time.sleep(0.5)  # past the workers' ban sync
    assert served.request(source).status_code == 200
    assert [
        served.request(source, "POST", "/api/v6/login.json", json=right).status_code for _ in range(6)
    ] == [200] * 6


def test_a_slowed_account_has_one_password_check_in_flight(served: Served) -> None:
    """60 wrong sign-ins for one slowed account from 60 addresses at once: one password is checked
    (after the delay), the others are answered 429 with Retry-After at once, unchecked; every one
    of them used to be checked within a few seconds. The owner then still signs in."""
    assert served.cli("tenant", "create", "slowed-t", "--title", "Slowed").returncode == 0
    made = served.cli(
        *("user", "create", "--tenant", "slowed-t", "--name", "slowed-op", "--title", "Agent"),
        *("--role", "operator", "--password", "kůň pije z potoka"),
    )
    assert made.returncode == 0, made.stderr
    wrong = {"username": "slowed-op", "password": "not the password"}
    for i in range(5):  # from five addresses, so none of them is banned on the way
        r = served.request(f"127.0.2.{i + 1}", "POST", "/api/v6/login.json", json=wrong)
        assert r.status_code == 401
    started = time.monotonic()
    answers = _at_once(
        [
            lambda source=f"127.0.3.{i + 1}": served.request(source, "POST", "/api/v6/login.json", json=wrong)
            for i in range(60)
        ]
    )
    elapsed = time.monotonic() - started
    codes = sorted(r.status_code for r in answers)
    # The checks run one after another, each holding the account for its delay (a second or more):
    # however the 60 requests spread in time, no more checks than whole seconds passed, plus one.
    checked = codes.count(401)
    assert 1 <= checked <= 1 + int(elapsed) and checked + codes.count(429) == 60, (codes, elapsed)
    assert checked <= 3, codes  # they came all within a second or two
    busy = [r for r in answers if r.status_code == 429]
    assert all(1 <= int(r.headers["retry-after"]) <= 31 for r in busy)
    assert busy[0].json()["error"] and busy[0].json()["result"] is None
    assert time.monotonic() - started >= 1.0  # the one check waited out the delay
    # Slowed, never locked: the owner signs in once the check in flight has ended.
    right = {"username": "slowed-op", "password": "kůň pije z potoka"}
    r = served.request("127.0.2.9", "POST", "/api/v6/login.json", json=right)
    assert r.status_code == 200, r.text
    # A right password gives its address's attempt back: four failures and a sign-in leave room
    # for one more check before the ban.
    source = "127.0.2.10"
    assert [served.fail_login(source).status_code for _ in range(4)] == [401] * 4
    assert served.request(source, "POST", "/api/v6/login.json", json=right).status_code == 200
    assert served.fail_login(source).status_code == 401
    assert served.fail_login(source).status_code == 403
    assert served.cli("firewall", "unban", source).returncode == 0


def test_claims_of_one_address_never_pass_the_threshold(session_factory: Any, app: Any) -> None:
    """The database store on both databases: 24 threads claim one key's attempts at once; exactly
    the threshold's worth are granted (PostgreSQL queues them on an advisory lock, SQLite on its
    writer), a released claim frees one place, and a ban leaves none."""
    store = DbStore(session_factory, app.state.pseudonyms)
    policy = Policy(threshold=5, window=60, ban_seconds=600, max_ban_seconds=3600, memory=3600)
    key = f"192.0.2.{uuid.uuid4().int % 250}"
    with ThreadPoolExecutor(max_workers=8) as pool:
        claims = list(pool.map(lambda _: store.claim(key, 1.0, policy), range(24)))
    granted = [c for c in claims if isinstance(c, tuple)]
    assert claims.count(None) == 19  # used up, not banned: nothing banned them
    assert sorted(total for _, total in granted) == [1.0, 2.0, 3.0, 4.0, 5.0]
    # Only failures decide a ban: the attempts still pending do not count there.
    assert store.fail(key, granted[1][0], policy) == 1.0
    assert store.fail(key, granted[2][0], policy) == 2.0
    store.release(key, granted[0][0])
    again = store.claim(key, 1.0, policy)
    assert isinstance(again, tuple) and again[1] == 5.0
    assert store.claim(key, 1.0, policy) is None
    assert store.ban(key, "unauthorized", 5.0, policy) is not None
    assert store.claim(f"{key}0", 1.0, policy) is not None  # another key is its own
    store.release(key, again[0])
    banned_until = store.claim(key, 1.0, policy)  # banned: nothing left, and when
    assert isinstance(banned_until, float) and banned_until > time.time() + 500


def test_a_token_that_ran_out_is_an_identified_client_not_an_attacker(served: Served) -> None:
    """An extractor running requests in parallel whose token expires (or was revoked) mid-run gets
    401s: they count against that token, never the address, which stays open. A token hovor never
    issued is guessing and still bans the address after five."""
    assert served.cli("tenant", "create", "stale-t", "--title", "Stale").returncode == 0
    made = served.cli(
        *("user", "create", "--tenant", "stale-t", "--name", "stale-int", "--title", "Extractor"),
        *("--role", "integration"),
    )
    assert made.returncode == 0, made.stderr
    token = served.cli("user", "token", "--name", "stale-int").stdout.strip()
    office = "127.0.0.70"
    headers = {"X-AUTH-TOKEN": token}
    assert served.request(office, path="/api/v6/whoim.json", headers=headers).status_code == 200
    assert served.request(office, "POST", "/api/v6/logout.json", headers=headers).status_code == 200
    time.sleep(2.2)  # the other worker may answer from its caller cache for up to 2 s
    answers = _at_once(
        [lambda: served.request(office, path="/api/v6/contacts.json", headers=headers) for _ in range(10)]
    )
    answers += [served.request(office, path="/api/v6/whoim.json", headers=headers) for _ in range(10)]
    codes = [r.status_code for r in answers]
    assert set(codes) <= {401, 429} and codes.count(401) >= 10, codes
    time.sleep(0.5)  # past the workers' ban sync
    assert served.request(office).status_code == 200
    # Never issued: the address is scored as before.
    guesser = "127.0.0.71"
    forged = {"X-AUTH-TOKEN": uuid.uuid4().hex * 2}
    assert [
        served.request(guesser, path="/api/v6/whoim.json", headers=forged).status_code for _ in range(5)
    ] == [401] * 5
    assert len(_banned_everywhere(served, guesser)) == 2
    assert served.cli("firewall", "unban", guesser).returncode == 0
