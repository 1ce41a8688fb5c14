"""Channels deliver a report somewhere: email, webhooks, chat services, files."""
