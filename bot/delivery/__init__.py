"""Getting the outbox's notifications to Telegram."""
