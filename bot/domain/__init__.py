"""Pure rules of the scheme: no Telegram, no database, no settings."""
