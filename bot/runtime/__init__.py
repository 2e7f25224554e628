"""The bot as a running process: polling or webhook in, the outbox sender out."""
