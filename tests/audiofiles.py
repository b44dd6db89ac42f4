"""Small but structurally real MP3 and Ogg Opus files, built by hand for content checks."""

from __future__ import annotations

import struct


def mp3(frames: int = 100) -> bytes:
    """MPEG-1 Layer III frames at 128 kbit/s, 44.1 kHz: 417 bytes and 26.1 ms each."""
    header = bytes([0xFF, 0xFB, 0x90, 0x04])
    return (header + bytes(417 - 4)) * frames


def _crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _page(packet: bytes, granule: int, seq: int, flags: int) -> bytes:
    segments = [255] * (len(packet) // 255) + [len(packet) % 255]
    head = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, 0x1234, seq, 0, len(segments))
    page = head + bytes(segments) + packet
    return page[:22] + struct.pack("<I", _crc(page)) + page[26:]


def ogg_opus(seconds: float = 2.0, pre_skip: int = 312) -> bytes:
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, pre_skip, 48000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 5) + b"hovor" + struct.pack("<I", 0)
    audio = b"\xfc" + bytes(60)
    end = int(seconds * 48000) + pre_skip
    return _page(head, 0, 0, 0x02) + _page(tags, 0, 1, 0) + _page(audio, end, 2, 0x04)
