"""Queues and activities on every channel: calls, e-mail, web chat, SMS, Messenger, comments."""
