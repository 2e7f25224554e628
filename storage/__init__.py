"""Persistence: models, repositories, the engine and the migrations."""
