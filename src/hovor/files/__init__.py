"""Encrypted blobs: recordings, attachments and every other file."""
