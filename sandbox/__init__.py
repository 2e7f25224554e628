"""A local stand-in for the Telegram Bot API, for the demo and the end-to-end tests (README.md)."""
