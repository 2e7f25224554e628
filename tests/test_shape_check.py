"""``make lint``'s check of the handlers' shape: it finds a long function and an import
circle in a tree made for it, and finds neither in ours."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import shape_check

ROOT = Path(__file__).resolve().parent.parent


def write(root: Path, name: str, text: str) -> None:
    path = root / "handlers" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_a_long_function_and_a_circle_are_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = "\n".join(f"    x{n} = {n}" for n in range(61))
    write(tmp_path, "__init__.py", "from handlers import a, b\n")
    write(tmp_path, "a.py", f"from handlers.b import go\n\n\ndef long() -> None:\n{body}\n")
    write(tmp_path, "b.py", "def go() -> None:\n    from handlers import a\n")
    write(tmp_path, "c.py", "from handlers import b\n\n\ndef short() -> None:\n    pass\n")

    assert shape_check.main([str(tmp_path)]) == 1
    printed = capsys.readouterr().out
    assert "handlers/a.py:4: handlers.a.long is 62 lines long" in printed
    assert "import circle: handlers.a -> handlers.b" in printed
    assert "short" not in printed
    assert "handlers.c" not in printed


def test_the_handlers_have_the_shape_the_lint_asks_for(capsys: pytest.CaptureFixture[str]) -> None:
    assert shape_check.main([str(ROOT)]) == 0, capsys.readouterr().out
