"""Call recordings: upload checked by content, stored encrypted, played back whole or by range."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from audiofiles import mp3, ogg_opus
from conftest import TenantFixture, data
from hovor.activities.audio import synth_wav
from hovor.core.db import unit_of_work
from hovor.files.models import Blob
from hovor.files.stores import LocalStore

WAV = synth_wav(10.0, seed=7)  # 160 kB: ranges cross the 64 kB encryption chunks


@pytest.fixture
def call(client: Any, tenant: TenantFixture) -> str:
    client.post(
        "/api/v6/queues.json", json={"name": "100", "title": "Linka", "type": "in"}, headers=tenant.h()
    )
    r = client.post(
        "/api/v6/activitiesCall.json",
        json={"queue": "100", "direction": "in", "clid": "+420 601 234 567", "answered": True, "duration": 3},
        headers=tenant.h("integration"),
    )
    assert r.status_code == 201, r.text
    return str(data(r)["name"])


def upload(client: Any, t: TenantFixture, call: str, body: bytes, content_type: str = "audio/wav") -> Any:
    return client.post(
        f"/api/v6/activitiesCall/{call}/recording.json",
        content=body,
        headers={**t.h("integration"), "content-type": content_type},
    )


def test_upload_download_byte_identical_and_encrypted_at_rest(
    client: Any, tenant: TenantFixture, call: str, settings: Any, session_factory: Any
) -> None:
    r = upload(client, tenant, call, WAV)
    assert r.status_code == 201, r.text
    rec = data(r)
    assert rec["mime"] == "audio/wav" and rec["duration"] == 10.0 and rec["size"] == len(WAV)

    played = client.get(f"/file/recording/{call}", headers=tenant.h("operator"))
    assert played.status_code == 200
    assert played.content == WAV
    assert played.headers["content-type"] == "audio/wav"
    assert played.headers["accept-ranges"] == "bytes"
    assert played.headers["content-disposition"].startswith("inline")
    # The file name is the record key, never the caller's number (in any of its written forms; a
    # random key may hold a short run of the same digits, so the whole number is what is looked for).
    disposition = played.headers["content-disposition"]
    assert f'filename="{call}.wav"' in disposition or f"{call}.wav" in disposition
    assert not any(n in disposition for n in ("601234567", "601 234 567", "+420601234567"))

    with unit_of_work(session_factory) as s:
        blob = s.scalars(select(Blob)).one()
    stored = LocalStore(Path(settings.data_dir) / "blobs").path(blob.store_key).read_bytes()
    assert b"RIFF" not in stored and b"WAVE" not in stored and b"fmt " not in stored
    assert WAV[44:1044] not in stored

    # The call shows its recording; the recordings resource lists it.
    item = data(client.get(f"/api/v6/activitiesCall/{call}.json", headers=tenant.h()))
    assert item["recording"]["duration"] == 10.0 and item["clid"] == "+420601234567"
    listed = data(client.get("/api/v6/activitiesCallRecordings.json", headers=tenant.h()))
    assert listed["total"] == 1 and listed["data"][0]["activity"] == call


def test_range_requests_for_playback(client: Any, tenant: TenantFixture, call: str) -> None:
    upload(client, tenant, call, WAV)
    h = tenant.h("supervisor")
    for header, expected in [
        ("bytes=0-99", WAV[:100]),
        ("bytes=60000-140000", WAV[60000:140001]),
        (f"bytes={len(WAV) - 10}-", WAV[-10:]),
        ("bytes=-500", WAV[-500:]),
    ]:
        r = client.get(f"/file/recording/{call}", headers={**h, "Range": header})
        assert r.status_code == 206, header
        assert r.content == expected, header
        assert r.headers["content-range"].endswith(f"/{len(WAV)}")
        assert int(r.headers["content-length"]) == len(expected)
    r = client.get(f"/file/recording/{call}", headers={**h, "Range": f"bytes={len(WAV)}-"})
    assert r.status_code == 416
    r = client.get(f"/file/recording/{call}.wav", params={"download": "1"}, headers=h)
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("attachment")
    # Browser audio players send the token in the URL (accessToken) or the c_user cookie.
    r = client.get(f"/file/recording/{call}", params={"accessToken": tenant.tokens["operator"]})
    assert r.status_code == 200 and r.content == WAV


@pytest.mark.parametrize(
    ("body", "mime", "duration"),
    [(mp3(100), "audio/mpeg", 2.606), (ogg_opus(2.0), "audio/ogg", 2.0)],
)
def test_mp3_and_ogg_are_recognised_by_content(
    client: Any, tenant: TenantFixture, call: str, body: bytes, mime: str, duration: float
) -> None:
    # The declared type is wrong on purpose: the content decides.
    r = upload(client, tenant, call, body, content_type="application/octet-stream")
    assert r.status_code == 201, r.text
    assert data(r)["mime"] == mime and abs(data(r)["duration"] - duration) < 0.01
    assert client.get(f"/file/recording/{call}", headers=tenant.h()).content == body


@pytest.mark.parametrize(
    "body",
    [
        b"%PDF-1.4 not audio at all",
        b"RIFF\x00\x00\x00\x00WAVEjunk",
        b"OggS" + bytes(40),
        b"\xff\xfb" + bytes(10),
        b"",
    ],
)
def test_non_audio_is_refused_and_nothing_stored(
    client: Any, tenant: TenantFixture, call: str, body: bytes, session_factory: Any
) -> None:
    r = upload(client, tenant, call, body)
    assert r.status_code == 400, r.text
    assert "file" in r.json()["error"]["form"]
    with unit_of_work(session_factory) as s:
        assert s.scalars(select(Blob)).all() == []


def test_multipart_upload_and_replacement_shreds_the_old_blob(
    client: Any, tenant: TenantFixture, call: str, session_factory: Any
) -> None:
    first = synth_wav(1.0, seed=1)
    second = synth_wav(2.0, seed=2)
    r = client.post(
        f"/api/v6/activitiesCall/{call}/recording.json",
        files={"file": ("call.wav", first, "audio/wav")},
        headers=tenant.h("integration"),
    )
    assert r.status_code == 201, r.text
    assert upload(client, tenant, call, second).status_code == 201
    assert client.get(f"/file/recording/{call}", headers=tenant.h()).content == second
    with unit_of_work(session_factory) as s:
        blobs = s.scalars(select(Blob)).all()
    assert len(blobs) == 1 and blobs[0].wrapped_key is not None  # the first one is gone entirely


def test_deleting_the_call_shreds_its_recording(
    client: Any, tenant: TenantFixture, call: str, session_factory: Any, settings: Any
) -> None:
    upload(client, tenant, call, WAV)
    with unit_of_work(session_factory) as s:
        key = s.scalars(select(Blob.store_key)).one()
    assert client.delete(f"/api/v6/activitiesCall/{call}.json", headers=tenant.h()).status_code == 204
    with unit_of_work(session_factory) as s:
        assert s.scalars(select(Blob)).all() == []
    assert not LocalStore(Path(settings.data_dir) / "blobs").exists(key)
    assert client.get(f"/file/recording/{call}", headers=tenant.h()).status_code == 404


def test_recording_rights(client: Any, tenant: TenantFixture, call: str) -> None:
    assert upload(client, tenant, call, WAV).status_code == 201
    # Operators play recordings but do not upload them; auditors do neither.
    r = client.post(
        f"/api/v6/activitiesCall/{call}/recording.json",
        content=WAV,
        headers={**tenant.h("operator"), "content-type": "audio/wav"},
    )
    assert r.status_code == 403
    assert client.get(f"/file/recording/{call}", headers=tenant.h("auditor")).status_code == 403
    # A profile without the call's queue does not see the recording at all.
    client.post(
        "/api/v6/queues.json", json={"name": "200", "title": "Jiná", "type": "in"}, headers=tenant.h()
    )
    client.post(
        "/api/v6/profiles.json",
        json={"name": "q200", "title": "Jen 200", "queues": ["200"]},
        headers=tenant.h(),
    )
    client.put("/api/v6/users/acme-operator.json", json={"profile": "q200"}, headers=tenant.h())
    assert client.get(f"/file/recording/{call}", headers=tenant.h("operator")).status_code == 404
    assert (
        data(client.get("/api/v6/activitiesCallRecordings.json", headers=tenant.h("operator")))["total"] == 0
    )


def _wav(rate: int, byte_rate: int, declared: int, data: bytes) -> bytes:
    """A PCM WAV whose header says what it is told to, followed by ``data``."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, byte_rate, 1, 8)
    body = (
        b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", declared) + data
    )
    return b"RIFF" + struct.pack("<I", min(len(body) + declared, 0xFFFFFFFF)) + body


def _mp3_claiming(frames: int) -> bytes:
    """Three MP3 frames whose first carries a Xing header claiming ``frames`` frames."""
    body = bytearray(mp3(3))
    body[36:48] = b"Xing" + struct.pack(">II", 1, frames)
    return bytes(body)


@pytest.mark.parametrize(
    "body",
    [
        _wav(1, 1, 10**6, bytes(2000)),  # 2 kB claiming a million bytes at 1 Hz: "1,000,000 s"
        _wav(8000, 8000, 0xFFFFFFF0, bytes(100)),  # 144 bytes claiming 4 GB: "268,435 s"
        _mp3_claiming(100_000),  # 1.2 kB claiming "2,612 s"
    ],
)
def test_a_header_claiming_more_than_the_file_holds_is_refused(
    client: Any, tenant: TenantFixture, call: str, body: bytes, session_factory: Any
) -> None:
    r = upload(client, tenant, call, body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["form"]["file"] == ["The recording is shorter than its header says."]
    with unit_of_work(session_factory) as s:
        assert s.scalars(select(Blob)).all() == []


def test_the_duration_is_what_the_bytes_hold(client: Any, tenant: TenantFixture, call: str) -> None:
    """A recorder writing as it records leaves the length unknown (0xFFFFFFFF): the bytes decide."""
    r = upload(client, tenant, call, _wav(8000, 8000, 0xFFFFFFFF, bytes(12000)))
    assert r.status_code == 201, r.text
    assert data(r)["duration"] == 1.5
    r = upload(client, tenant, call, WAV)
    assert r.status_code == 201, r.text
    assert data(r)["duration"] == 10.0
