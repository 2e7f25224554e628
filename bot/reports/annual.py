"""The observation scheme's section of the district's annual government work report, as .docx.

Callers pass already-translated text; nothing here knows gettext or the rest of Outpost.
The layout follows the conventions the office pastes into (GB/T 9704-style): a Song-face
title, FangSong body with a two-character indent, HeiTi level-1 headings, A4 paper. An
English document gets Times New Roman and no indent.

Word picks the face for Chinese characters from ``w:rFonts/@w:eastAsia``, not from the
name python-docx's ``font.name`` sets (``w:ascii``/``w:hAnsi``), and python-docx's default
template routes every text through theme fonts, which win over named ones. So every
style and run here gets all four slots named explicitly and the theme references removed.

python-docx is imported by the functions that write, in the thread that builds the
document, not with this module: a bot never asked for a report never loads it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final, Protocol

from bot.reports.text import xml_safe

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.oxml.text.font import CT_RPr
    from docx.styles.style import ParagraphStyle
    from docx.table import _Cell
    from docx.text.paragraph import Paragraph as DocxParagraph
    from docx.text.run import Run

__all__ = ["Block", "Document", "Heading", "Paragraph", "Picture", "Table", "build_docx"]


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    caption: str = ""


@dataclass(frozen=True)
class Picture:
    png: bytes
    caption: str = ""
    width_cm: float = 15.0


Block = Heading | Paragraph | Table | Picture


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str  # e.g. the issuing office and date line
    blocks: Sequence[Block]
    language: str = "zh_CN"  # "zh_CN" or "en"


@dataclass(frozen=True)
class _Face:
    latin: str
    east_asia: str
    size_pt: float
    bold: bool = False


@dataclass(frozen=True)
class _Look:
    """One language's typography."""

    title: _Face
    subtitle: _Face
    heading: _Face
    body: _Face
    table: _Face
    caption: _Face
    first_line_chars: int  # body indent in characters; Chinese paragraphs start two in
    line_spacing: float
    space_after_pt: float
    margins_cm: tuple[float, float, float, float]  # top, bottom, left, right
    east_asian: bool


_ZH: Final = _Look(
    title=_Face("Times New Roman", "宋体", 22, bold=True),
    subtitle=_Face("Times New Roman", "楷体", 16),
    heading=_Face("Times New Roman", "黑体", 16),
    body=_Face("Times New Roman", "仿宋", 16),
    table=_Face("Times New Roman", "仿宋", 12),
    caption=_Face("Times New Roman", "仿宋", 14),
    first_line_chars=2,
    line_spacing=1.5,
    space_after_pt=0,
    margins_cm=(3.7, 3.5, 2.8, 2.6),  # GB/T 9704's margins for official documents
    east_asian=True,
)
_EN: Final = _Look(
    # A Song face for any Chinese in an English document (point names, quoted titles).
    title=_Face("Times New Roman", "宋体", 18, bold=True),
    subtitle=_Face("Times New Roman", "宋体", 12),
    heading=_Face("Times New Roman", "宋体", 14, bold=True),
    body=_Face("Times New Roman", "宋体", 12),
    table=_Face("Times New Roman", "宋体", 10.5),
    caption=_Face("Times New Roman", "宋体", 11),
    first_line_chars=0,
    line_spacing=1.15,
    space_after_pt=6,
    margins_cm=(2.54, 2.54, 2.54, 2.54),
    east_asian=False,
)

A4_CM: Final = (21.0, 29.7)
AUTHOR: Final = "Outpost"

_THEME_ATTRS: Final = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")
_NUMERIC: Final = re.compile(r"[\d\s.,%/+\-–:]+")


class _HasRPr(Protocol):
    def get_or_add_rPr(self) -> CT_RPr: ...


def _lines(text: str) -> list[str]:
    return [line.strip() for line in xml_safe(text).splitlines() if line.strip()]


def _one_line(text: str) -> str:
    return " ".join(_lines(text))


def _name_fonts(owner: _HasRPr, face: _Face, look: _Look) -> None:
    from docx.oxml.ns import qn

    rpr = owner.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for attr in _THEME_ATTRS:
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:ascii"), face.latin)
    fonts.set(qn("w:hAnsi"), face.latin)
    fonts.set(qn("w:cs"), face.latin)
    fonts.set(qn("w:eastAsia"), face.east_asia)
    if look.east_asian:
        # Quotes, dashes and "…" are shared by both scripts; in Chinese text they take
        # the Chinese face's full-width shapes.
        fonts.set(qn("w:hint"), "eastAsia")


def _style_run(run: Run, face: _Face, look: _Look, *, bold: bool | None = None) -> None:
    from docx.shared import Pt

    _name_fonts(run._r, face, look)
    run.font.size = Pt(face.size_pt)
    run.font.bold = face.bold if bold is None else bold


def _indent(paragraph: DocxParagraph, look: _Look, face: _Face) -> None:
    if not look.first_line_chars:
        return
    from docx.oxml.ns import qn
    from docx.shared import Pt

    fmt = paragraph.paragraph_format
    fmt.first_line_indent = Pt(face.size_pt * look.first_line_chars)
    # Word measures a "2 characters" indent in characters, so it follows the font size.
    ind = paragraph._p.get_or_add_pPr().get_or_add_ind()
    ind.set(qn("w:firstLineChars"), str(look.first_line_chars * 100))


def _configure_styles(document: DocxDocument, look: _Look) -> None:
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor
    from docx.styles.style import ParagraphStyle

    styles = document.styles
    defaults = styles.element.find(qn("w:docDefaults"))
    rpr_default = None if defaults is None else defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
    if rpr_default is not None:
        fonts = rpr_default.find(qn("w:rFonts"))
        if fonts is not None:
            for attr in _THEME_ATTRS:
                fonts.attrib.pop(qn(attr), None)
            fonts.set(qn("w:ascii"), look.body.latin)
            fonts.set(qn("w:hAnsi"), look.body.latin)
            fonts.set(qn("w:cs"), look.body.latin)
            fonts.set(qn("w:eastAsia"), look.body.east_asia)
        lang = rpr_default.find(qn("w:lang"))
        if lang is not None:
            lang.set(qn("w:eastAsia"), "zh-CN")
            lang.set(qn("w:val"), "zh-CN" if look.east_asian else "en-US")

    normal = styles["Normal"]
    assert isinstance(normal, ParagraphStyle)
    _paragraph_style(normal, look.body, look)
    normal.paragraph_format.line_spacing = look.line_spacing
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(look.space_after_pt)
    normal.paragraph_format.widow_control = True

    heading = styles["Heading 1"]
    assert isinstance(heading, ParagraphStyle)
    _paragraph_style(heading, look.heading, look)
    heading.font.color.rgb = RGBColor(0, 0, 0)
    heading.paragraph_format.space_before = Pt(0 if look.east_asian else 12)
    heading.paragraph_format.space_after = Pt(look.space_after_pt)
    heading.paragraph_format.line_spacing = look.line_spacing
    heading.paragraph_format.keep_with_next = True

    caption = styles["Caption"]
    assert isinstance(caption, ParagraphStyle)
    _paragraph_style(caption, look.caption, look)
    caption.font.color.rgb = RGBColor(0, 0, 0)
    caption.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption.paragraph_format.space_before = Pt(3)
    caption.paragraph_format.space_after = Pt(9)
    caption.paragraph_format.line_spacing = 1.0

    for name, face in (("Outpost Title", look.title), ("Outpost Subtitle", look.subtitle)):
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        assert isinstance(style, ParagraphStyle)
        style.base_style = normal
        style.quick_style = True
        _paragraph_style(style, face, look)
        style.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        style.paragraph_format.line_spacing = 1.25
        style.paragraph_format.space_after = Pt(face.size_pt if name == "Outpost Subtitle" else 6)
        style.paragraph_format.keep_with_next = True


def _paragraph_style(style: ParagraphStyle, face: _Face, look: _Look) -> None:
    from docx.shared import Pt

    _name_fonts(style.element, face, look)
    style.font.size = Pt(face.size_pt)
    style.font.bold = face.bold


def _page(document: DocxDocument, look: _Look) -> None:
    from docx.shared import Cm

    for section in document.sections:
        section.page_width, section.page_height = Cm(A4_CM[0]), Cm(A4_CM[1])
        top, bottom, left, right = look.margins_cm
        section.top_margin, section.bottom_margin = Cm(top), Cm(bottom)
        section.left_margin, section.right_margin = Cm(left), Cm(right)


def _text_width_cm(look: _Look) -> float:
    return A4_CM[0] - look.margins_cm[2] - look.margins_cm[3]


def _add_text(document: DocxDocument, text: str, style: str, face: _Face, look: _Look) -> None:
    paragraph = document.add_paragraph(style=style)
    _style_run(paragraph.add_run(text), face, look)


def _add_title(document: DocxDocument, doc: Document, look: _Look) -> None:
    title = _lines(doc.title)
    if title:
        _add_text(document, "\n".join(title), "Outpost Title", look.title, look)
    subtitle = _lines(doc.subtitle)
    if subtitle:
        _add_text(document, "\n".join(subtitle), "Outpost Subtitle", look.subtitle, look)


def _add_heading(document: DocxDocument, block: Heading, look: _Look) -> None:
    text = _one_line(block.text)
    if not text:
        return
    paragraph = document.add_paragraph(style="Heading 1")
    _style_run(paragraph.add_run(text), look.heading, look)
    _indent(paragraph, look, look.body)  # headings line up with the body's indent


def _add_paragraphs(document: DocxDocument, block: Paragraph, look: _Look) -> None:
    for line in _lines(block.text):
        paragraph = document.add_paragraph(style="Normal")
        _style_run(paragraph.add_run(line), look.body, look)
        _indent(paragraph, look, look.body)


def _cell_text(cell: _Cell, text: str, look: _Look, *, header: bool) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    text = "\n".join(_lines(text.replace("\r\n", "\n")))
    paragraph = cell.paragraphs[0]
    fmt = paragraph.paragraph_format
    fmt.line_spacing = 1.0
    fmt.space_before = fmt.space_after = Pt(2)
    fmt.first_line_indent = Pt(0)
    numeric = bool(text) and _NUMERIC.fullmatch(text) is not None
    fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER if header or numeric else WD_ALIGN_PARAGRAPH.LEFT
    _style_run(paragraph.add_run(text), look.table, look, bold=header)


def _shade(cell: _Cell, fill: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tc_pr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd", {qn("w:val"): "clear", qn("w:color"): "auto", qn("w:fill"): fill})
    tc_pr.insert_element_before(
        shd, "w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark"
    )


def _add_table(document: DocxDocument, block: Table, look: _Look) -> None:
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.oxml import OxmlElement
    from docx.shared import Pt

    header = list(block.header)
    rows = [list(r) for r in block.rows]
    width = max([len(header), *(len(r) for r in rows)])
    if width == 0:
        return
    if block.caption.strip():
        # Tables carry their caption above, figures below (GB/T 7713 and common usage).
        _add_text(document, _one_line(block.caption), "Caption", look.caption, look)
    table = document.add_table(rows=0, cols=width)
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    if header:
        row = table.add_row()
        # Repeated at the top of every page the table runs onto.
        row._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
        for cell, text in zip(row.cells, header + [""] * (width - len(header)), strict=True):
            _cell_text(cell, text, look, header=True)
            _shade(cell, "D9D9D9")
    for values in rows:
        row = table.add_row()
        for cell, text in zip(row.cells, values + [""] * (width - len(values)), strict=True):
            _cell_text(cell, text, look, header=False)
    # A little air before whatever follows; Word glues a table to the next paragraph.
    spacer = document.add_paragraph(style="Normal")
    spacer.paragraph_format.line_spacing = 1.0
    spacer.paragraph_format.space_after = Pt(0)


def _add_picture(document: DocxDocument, block: Picture, look: _Look) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    paragraph = document.add_paragraph(style="Normal")
    fmt = paragraph.paragraph_format
    fmt.alignment = WD_ALIGN_PARAGRAPH.CENTER
    fmt.line_spacing = 1.0  # "1.5 lines" of a picture-high line would push the caption off
    fmt.keep_with_next = bool(block.caption.strip())
    fmt.space_before = Pt(6)
    width = Cm(max(1.0, min(block.width_cm, _text_width_cm(look))))
    paragraph.add_run().add_picture(io.BytesIO(block.png), width=width)
    if block.caption.strip():
        _add_text(document, _one_line(block.caption), "Caption", look.caption, look)


def build_docx(doc: Document) -> bytes:
    """The document as .docx bytes."""
    if doc.language.startswith("zh"):
        look = _ZH
    elif doc.language.startswith("en"):
        look = _EN
    else:
        raise ValueError(f"unsupported document language {doc.language!r}")
    import docx

    document = docx.Document()
    _configure_styles(document, look)
    _page(document, look)
    _add_title(document, doc, look)
    for block in doc.blocks:
        match block:
            case Heading():
                _add_heading(document, block, look)
            case Paragraph():
                _add_paragraphs(document, block, look)
            case Table():
                _add_table(document, block, look)
            case Picture():
                _add_picture(document, block, look)
    now = datetime.now(UTC).replace(microsecond=0)
    props = document.core_properties
    props.title = _one_line(doc.title)
    props.subject = _one_line(doc.subtitle)
    props.author = AUTHOR
    props.last_modified_by = AUTHOR
    props.comments = ""
    props.language = "zh-CN" if look.east_asian else "en"
    props.created = props.modified = now
    props.revision = 1
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()
