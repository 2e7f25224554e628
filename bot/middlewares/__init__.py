"""Cross-cutting steps every update goes through, outermost first (see bot.dispatcher)."""
