"""Repositories: one per aggregate, all flushing, none committing."""
