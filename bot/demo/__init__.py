"""The offline demo: a sample district, its seeding, and the demo command."""
