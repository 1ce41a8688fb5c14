"""Channels deliver a report somewhere: email, webhooks, chat services, files.

Imports nothing. Its modules import ``rendering``, ``redaction``, ``signing`` and the small
value modules, ``report`` for type checking only, and never the engine (``execution``).
"""
