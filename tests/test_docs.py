"""The project's documents stand on their own: nothing points outside the project, every
link of a document leads to a file (and heading) the project has, and what the
documents count and list is what the code holds.

A clone of the project has only the project: a reference to the spec it was built from
(a sibling ``shared`` folder, a workplace's absolute path) leads nowhere, so the design
the code relies on is in ``docs/design.md``. ``python -m tests.test_docs`` prints the
list of moves it must hold; ``--write`` puts that list and the lifecycle's diagram in it.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from bot.demo import district
from bot.domain.lifecycle import INITIAL_STATUS, TRANSITIONS, Action, Transition, find, mermaid
from bot.domain.statuses import SuggestionStatus

ROOT = Path(__file__).resolve().parent.parent
THIS = Path(__file__).resolve()
DESIGN = ROOT / "docs" / "design.md"
README = ROOT / "README.md"

# Where files are kept that the project does not ship; the rest is the project.
_NOT_OURS = {".git", ".venv", "node_modules", "demo-data", "__pycache__", ".mypy_cache"}
_TEXT = {".md", ".py", ".toml", ".cfg", ".ini", ".mako", ".html", ".js", ".css", ".txt", ".po"}
_TEXT_NAMES = {"Makefile", "run"}

# What points outside the project: the spec's folder beside the clone, this workplace's
# absolute paths, and the spec's files by name (the project's own design is the
# lower-case docs/design.md).
OUTSIDE = re.compile(
    r"\.\./shared\b"
    r"|/work/"
    r"|\bshared/(?:DESIGN|STYLE)"
    r"|\b(?:DESIGN|STYLE|DEVELOPERS)\.md\b"
    r"|\bDESIGN\s*(?:§|section\b)"
)


def project_files() -> list[Path]:
    """The project's text files: what git tracks (and new files not ignored), or, in a
    copy without git, every text file outside the folders the project does not ship."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout.decode("utf-8")
        paths = [ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.SubprocessError):
        paths = [
            p
            for p in ROOT.rglob("*")
            if not any(
                part in _NOT_OURS or part.endswith(".egg-info")
                for part in p.relative_to(ROOT).parts
            )
        ]
    return sorted(
        p
        for p in paths
        if p.is_file() and (p.suffix in _TEXT or p.name in _TEXT_NAMES) and p.resolve() != THIS
    )


def markdown_files() -> list[Path]:
    return [p for p in project_files() if p.suffix == ".md"]


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# ---- nothing points outside ----------------------------------------------------------


def test_nothing_points_outside_the_project() -> None:
    found = []
    for path in project_files():
        text = path.read_text("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if OUTSIDE.search(line):
                found.append(f"{_rel(path)}:{number}: {line.strip()}")
    assert not found, "these point outside the project (use docs/design.md):\n" + "\n".join(found)


def test_the_check_sees_what_it_looks_for() -> None:
    # The pattern must catch each way the spec has been referred to, and must leave
    # the project's own design document alone.
    for outside in (
        "see ../shared/DESIGN.md",
        "/work/shared/STYLE.md",
        "the roles of DESIGN.md section 1",
        "as the runtime does (DESIGN §6)",
        "DESIGN section 8: any sequence",
    ):
        assert OUTSIDE.search(outside), outside
    for ours in ("docs/design.md §3", "[design](docs/design.md)", "DESIGN_EDGES = ["):
        assert not OUTSIDE.search(ours), ours
    assert README in project_files()
    assert DESIGN in project_files()


# ---- links ---------------------------------------------------------------------------

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HTML_LINK = re.compile(r"<(?:img|a)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def links(text: str) -> list[str]:
    """The targets of a Markdown document's links and images (not those in code)."""
    prose = _FENCE.sub("", text)
    targets = [m.group(1) for m in _LINK.finditer(_CODE_SPAN.sub("", prose))]
    return targets + [m.group(1) for m in _HTML_LINK.finditer(prose)]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to
    hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: Counter[str] = Counter()
    found = set()
    for match in _HEADING.finditer(_FENCE.sub("", text)):
        base = slug(match.group(1))
        found.add(f"{base}-{seen[base]}" if seen[base] else base)
        seen[base] += 1
    return found


def broken_links(document: Path, text: str | None = None) -> list[str]:
    """The links of ``document`` (or of ``text``, read as if it were there) that lead
    to no file or heading of the project."""
    broken = []
    if text is None:
        text = document.read_text("utf-8")
    for target in links(text):
        if _SCHEME.match(target):
            continue  # https:, mailto: and the like are not files of ours
        path_part, _, anchor = target.partition("#")
        if not path_part:  # a heading of this very document
            if anchor not in anchors(text):
                broken.append(f"{target}: no such heading here")
            continue
        linked = (document.parent / path_part).resolve()
        if not linked.is_relative_to(ROOT):
            broken.append(f"{target}: outside the project")
        elif not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked.read_text("utf-8")):
            broken.append(f"{target}: no such heading in {_rel(linked)}")
    return broken


@pytest.mark.parametrize("document", markdown_files(), ids=_rel)
def test_every_link_leads_to_a_file_of_the_project(document: Path) -> None:
    assert not broken_links(document), "\n".join(broken_links(document))


def test_the_link_check_can_fail() -> None:
    page = ROOT / "docs" / "example.md"
    text = (
        "[spec](../../shared/DESIGN.md) [gone](nowhere.md) [ok](../README.md#outpost) "
        "[top](#a-heading) [no heading](design.md#no-such-part) [web](https://t.me/x)\n"
        "## A heading\n"
    )
    assert broken_links(page, text) == [
        "../../shared/DESIGN.md: outside the project",
        "nowhere.md: no such file",
        "design.md#no-such-part: no such heading in docs/design.md",
    ]
    assert links('```\n[in code](x.md)\n```\n`[span](y.md)` <img src="z.png">') == ["z.png"]
    assert slug("C. The item's lifecycle") == "c-the-items-lifecycle"
    assert slug("4. What comes in, and what is kept of people") == (
        "4-what-comes-in-and-what-is-kept-of-people"
    )


def test_the_readme_links_the_design_and_the_drawings() -> None:
    linked = set(links(README.read_text("utf-8")))
    for document in ("docs/design.md", "bot/domain/lifecycle.md", "handlers/deciding.md"):
        assert document in linked, f"the README does not link {document}"


# ---- the lifecycle in docs/design.md -----------------------------------------------

_MOVES = re.compile(r"<!-- moves: begin.*?-->\n(.*?)<!-- moves: end -->", re.DOTALL)


def _names(values: frozenset[object]) -> str:
    return ", ".join(sorted(str(v) for v in values)) or "—"


def move_row(row: Transition) -> str:
    cells = (row.source, row.action, row.target, _names(row.roles), _names(row.needs))
    return "| " + " | ".join(map(str, cells)) + f" | {_names(row.tell)} |"


def moves_list() -> str:
    """The list of moves as docs/design.md must hold it: the table's rows, notes aside."""
    head = "| from | move | to | who may | needs | who is told |\n|---|---|---|---|---|---|\n"
    return head + "".join(move_row(row) + "\n" for row in TRANSITIONS if not row.internal)


def _rows(block: str) -> list[str]:
    lines = [" ".join(line.split()) for line in block.splitlines() if line.startswith("|")]
    return lines[2:]  # after the header and its rule


def test_design_lists_every_move_of_the_table() -> None:
    blocks = _MOVES.findall(DESIGN.read_text("utf-8"))
    assert len(blocks) == 1, "docs/design.md must hold one list of moves between its markers"
    listed = Counter(_rows(blocks[0]))
    table = Counter(_rows(moves_list()))
    missing = sorted((table - listed).elements())
    stale = sorted((listed - table).elements())
    fix = "docs/design.md's moves differ from TRANSITIONS (python -m tests.test_docs --write)"
    assert not missing, fix + "".join(f"\nmissing: {row}" for row in missing)
    assert not stale, fix + "".join(f"\nnot in the table: {row}" for row in stale)


_DIAGRAM = re.compile(r"```mermaid\n(stateDiagram-v2\n.*?)```", re.DOTALL)


def test_design_draws_the_table() -> None:
    drawn = _DIAGRAM.findall(DESIGN.read_text("utf-8"))
    assert drawn == [mermaid()], "redraw it with: python -m tests.test_docs --write"


# ---- the README's account of the demo ----------------------------------------------

_NUMBERS = {
    word: n
    for n, word in enumerate(
        (
            *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
            *("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen"),
            *("seventeen", "eighteen", "nineteen", "twenty"),
        )
    )
}


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word.lower()]


def _demo_paragraph() -> str:
    text = README.read_text("utf-8")
    section = text.split("## The offline demo", 1)[1].strip()
    return " ".join(section.split("\n\n", 1)[0].split())


def _final_status(item: district.ItemSpec) -> SuggestionStatus | None:
    status: SuggestionStatus | None = None
    for step in item.steps:
        if step.action is Action.SUBMIT:
            status = INITIAL_STATUS
            continue
        row = find(status, step.action) if status is not None else None
        status = row.target if row is not None else status
    return status


def test_readme_counts_the_demo_district() -> None:
    paragraph = _demo_paragraph()
    expected = {
        "observation points": len(district.POINTS),
        "district departments": len(district.DEPARTMENTS),
        "observers": len(district.OBSERVERS),
        "items": len(district.ITEMS),
    }
    for what, count in expected.items():
        said = re.search(rf"(\w+) {what}\b", paragraph)
        assert said is not None, f"the README's demo paragraph does not count the {what}"
        assert _number(said.group(1)) == count, f"the demo has {count} {what}, not {said[1]}"


def test_readme_names_the_statuses_the_demo_leaves_out() -> None:
    reached = {_final_status(item) for item in district.ITEMS}
    left_out = sorted(s.value for s in SuggestionStatus if s not in reached)
    said = re.search(r"in every status(?: but ([^,.]+))?", _demo_paragraph())
    assert said is not None, "the README's demo paragraph no longer says which statuses"
    named = sorted(re.findall(r"\*(\w+)\*", said.group(1) or ""))
    assert named == left_out, f"the demo's items leave out {left_out}, the README says {named}"


def rewrite_design(text: str) -> str:
    """docs/design.md with its list of moves and its lifecycle diagram as the table has
    them (``python -m tests.test_docs --write``)."""
    text = _MOVES.sub(lambda m: m.group(0).replace(m.group(1), moves_list()), text, count=1)
    return _DIAGRAM.sub(lambda m: m.group(0).replace(m.group(1), mermaid()), text, count=1)


def test_rewriting_the_design_makes_it_agree() -> None:
    text = DESIGN.read_text("utf-8")
    stale = text.replace("| closed | rate | closed |", "| closed | rate | gone |")
    stale = stale.replace("    closed --> [*]\n", "")
    assert rewrite_design(stale) == rewrite_design(text)
    rewritten = _MOVES.search(rewrite_design(stale))
    assert rewritten is not None
    assert rewritten.group(1) == moves_list()


if __name__ == "__main__":  # pragma: no cover
    import sys

    if sys.argv[1:] == ["--write"]:
        DESIGN.write_text(rewrite_design(DESIGN.read_text("utf-8")), "utf-8")
    else:
        print(moves_list(), end="")
