"""``python -m bot``: the same as the ``outpost`` command."""

from bot.cli import main

raise SystemExit(main())
