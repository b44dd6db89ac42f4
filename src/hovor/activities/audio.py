"""Recognises call recordings by their content (never by the name or the header a client sends)
and reads their duration with mutagen."""

from __future__ import annotations

import io
import math
import random
import struct
import wave
from typing import IO, Any

from mutagen.mp3 import MP3
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from hovor.core.errors import ValidationFailed

NOT_AUDIO = "Not a WAV, MP3 or OGG recording."
LYING = "The recording is shorter than its header says."
# Fewer bits a second than a recording of each format can take: a file claiming to last longer than
# its bytes could carry at that rate lies about its length. MPEG audio has no rate below 8 kbit/s;
# Ogg (Opus or Vorbis with discontinuous transmission, silence sent as a packet or two a second,
# many to a page) can go very low, so its floor only stops the absurd.
MIN_BITS_PER_SECOND = {"audio/mpeg": 7000, "audio/ogg": 20}
# How far a WAV's declared data size may exceed the bytes received (a recorder killed mid-write
# leaves a header a little ahead of its data).
WAV_SLACK = 0.01


def sniff(head: bytes) -> str | None:
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"OggS":
        return "audio/ogg"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    return None


def inspect(fh: IO[bytes]) -> tuple[str, float]:
    """(mime type, duration in seconds) of a recording, or a form error on ``file``."""
    fh.seek(0)
    mime = sniff(fh.read(16))
    fh.seek(0)
    if mime is None:
        raise ValidationFailed({"file": [NOT_AUDIO]})
    info: Any = None
    try:
        if mime == "audio/wav":
            info = WAVE(fh).info
        elif mime == "audio/mpeg":
            info = MP3(fh).info
        else:
            for kind in (OggVorbis, OggOpus):
                try:
                    fh.seek(0)
                    info = kind(fh).info
                    break
                except Exception:  # noqa: S112 - try the next Ogg codec
                    continue
    except Exception:
        info = None
    finally:
        fh.seek(0)
    if info is None or not getattr(info, "length", 0):
        raise ValidationFailed({"file": [NOT_AUDIO + " The file could not be read as audio."]})
    size = fh.seek(0, 2)
    fh.seek(0)
    length = _wav_length(fh, size) if mime == "audio/wav" else float(info.length)
    floor = MIN_BITS_PER_SECOND.get(mime)
    if floor is not None and length > size * 8 / floor:
        raise ValidationFailed({"file": [LYING]})
    return mime, round(length, 3)


def _wav_length(fh: IO[bytes], size: int) -> float:
    """A WAV's duration from the bytes received: its data chunk as far as the file goes, at the
    byte rate of its format. A header claiming much more data than arrived is refused."""
    byte_rate, data_at, declared = 0, 0, 0
    fh.seek(12)
    while True:
        header = fh.read(8)
        if len(header) < 8:
            break
        chunk, length = header[:4], struct.unpack("<I", header[4:])[0]
        if chunk == b"fmt ":
            fmt = fh.read(min(length, 16))
            byte_rate = struct.unpack("<I", fmt[8:12])[0] if len(fmt) >= 12 else 0
            fh.seek(length - len(fmt) + (length & 1), 1)
        elif chunk == b"data":
            data_at, declared = fh.tell(), length
            break
        else:
            fh.seek(length + (length & 1), 1)
    fh.seek(0)
    if not byte_rate or not data_at:
        raise ValidationFailed({"file": [NOT_AUDIO + " The file could not be read as audio."]})
    received = max(0, size - data_at)
    if declared in (0, 0xFFFFFFFF):
        declared = received  # written while recording: the length was not known yet
    if declared > received * (1 + WAV_SLACK) + 4096:
        raise ValidationFailed({"file": [LYING]})
    return min(declared, received) / byte_rate


def synth_wav(seconds: float = 2.0, seed: int = 0, rate: int = 8000) -> bytes:
    """A short telephone-quality WAV that sounds like two voices taking turns (for the demo and
    tests): vowel-like harmonics with a wandering pitch, syllable envelopes and pauses."""
    rnd = random.Random(seed)
    frames = bytearray()
    t = 0
    total = int(seconds * rate)
    while t < total:
        pitch = rnd.choice((110.0, 210.0)) * rnd.uniform(0.9, 1.1)
        syllable = int(rate * rnd.uniform(0.12, 0.3))
        for i in range(min(syllable, total - t)):
            env = math.sin(math.pi * i / syllable)
            f = pitch * (1 + 0.05 * math.sin(2 * math.pi * 3 * i / rate))
            x = sum(math.sin(2 * math.pi * f * h * (t + i) / rate) / h for h in (1, 2, 3, 5))
            frames += struct.pack("<h", int(9000 * env * x / 2))
        t += syllable
        gap = int(rate * rnd.uniform(0.02, 0.25))
        frames += b"\x00\x00" * min(gap, max(total - t, 0))
        t += gap
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))
    return buffer.getvalue()
