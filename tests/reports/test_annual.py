"""The annual report section: every block survives a round trip through python-docx."""

from __future__ import annotations

import io

import docx
import pytest
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.text.paragraph import Paragraph as DocxParagraph
from docx.text.run import Run
from PIL import Image

from bot.reports.annual import Document, Heading, Paragraph, Picture, Table, build_docx


def _png(width: int = 300, height: int = 200) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (0, 114, 178)).save(buf, format="PNG")
    return buf.getvalue()


def _read(data: bytes) -> DocxDocument:
    assert data.startswith(b"PK")
    return docx.Document(io.BytesIO(data))


def _east_asia(run: Run) -> str | None:
    rpr = run._r.rPr
    assert rpr is not None
    assert rpr.rFonts is not None
    return rpr.rFonts.get(qn("w:eastAsia"))


def _texts(document: DocxDocument) -> list[str]:
    return [p.text for p in document.paragraphs if p.text]


def _has_picture(paragraph: DocxParagraph) -> bool:
    return bool(paragraph._p.xpath(".//pic:pic"))


ZH = Document(
    title="2025年度基层立法联系点\x07工作情况",
    subtitle="某某区司法局\n2025年12月",
    blocks=[
        Heading("一、总体情况"),
        Paragraph("全年共收到意见建议128条，采纳“41”条。\n\n各观测点\x0b运行平稳。"),
        Table(
            header=["观测点", "意见数", "采纳率"],
            rows=[["城关镇司法所\x00", "12", "80%"], ["东城街道\n工作站", "5"]],
            caption="表1 各观测点意见建议情况",
        ),
        Picture(_png(), caption="图1 各部门办理数量"),
        Heading("二、下一步\x1b工作"),
        Paragraph("继续推进观测点建设。"),
    ],
)


@pytest.fixture(scope="module")
def zh() -> DocxDocument:
    return _read(build_docx(ZH))


def test_paragraphs_come_back_in_order_without_control_characters(zh: DocxDocument) -> None:
    assert _texts(zh) == [
        "2025年度基层立法联系点工作情况",
        "某某区司法局\n2025年12月",
        "一、总体情况",
        "全年共收到意见建议128条，采纳“41”条。",
        "各观测点运行平稳。",
        "表1 各观测点意见建议情况",
        "图1 各部门办理数量",
        "二、下一步工作",
        "继续推进观测点建设。",
    ]


def test_headings_are_level_one_headings(zh: DocxDocument) -> None:
    headings = [
        p.text for p in zh.paragraphs if p.style is not None and p.style.name == "Heading 1"
    ]
    assert headings == ["一、总体情况", "二、下一步工作"]


def test_table_cells_and_their_header(zh: DocxDocument) -> None:
    (table,) = zh.tables
    assert table.style is not None
    assert table.style.name == "Table Grid"
    cells = [[cell.text for cell in row.cells] for row in table.rows]
    assert cells == [
        ["观测点", "意见数", "采纳率"],
        ["城关镇司法所", "12", "80%"],
        ["东城街道\n工作站", "5", ""],  # a short row is padded, never shifted
    ]
    header = table.rows[0]
    assert all(run.bold for cell in header.cells for run in cell.paragraphs[0].runs)
    assert not any(run.bold for cell in table.rows[1].cells for run in cell.paragraphs[0].runs)
    assert header._tr.xpath("./w:trPr/w:tblHeader")  # repeated on every page
    # The caption sits right above its table.
    body = list(zh.element.body.iterchildren())
    caption_index = next(i for i, el in enumerate(body) if "表1" in "".join(el.itertext()))
    assert body[caption_index + 1].tag == qn("w:tbl")


def test_the_picture_is_inline_centred_and_captioned_below(zh: DocxDocument) -> None:
    (shape,) = zh.inline_shapes
    assert shape.width == Cm(15)
    paragraphs = zh.paragraphs
    index = next(i for i, p in enumerate(paragraphs) if _has_picture(p))
    assert paragraphs[index].alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert paragraphs[index + 1].text == "图1 各部门办理数量"


def test_chinese_runs_name_their_east_asian_face(zh: DocxDocument) -> None:
    faces = {p.text: {_east_asia(r) for r in p.runs} for p in zh.paragraphs if p.text}
    assert faces["2025年度基层立法联系点工作情况"] == {"宋体"}
    assert faces["一、总体情况"] == {"黑体"}
    assert faces["各观测点运行平稳。"] == {"仿宋"}
    table_runs = [r for row in zh.tables[0].rows for c in row.cells for r in c.paragraphs[0].runs]
    assert {_east_asia(r) for r in table_runs} == {"仿宋"}
    normal = zh.styles["Normal"].element.rPr
    assert normal.rFonts.get(qn("w:eastAsia")) == "仿宋"
    # No theme font left to override the named ones.
    assert normal.rFonts.get(qn("w:eastAsiaTheme")) is None


def test_chinese_body_typography(zh: DocxDocument) -> None:
    title = zh.paragraphs[0]
    assert title.style is not None
    assert title.style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert title.runs[0].bold
    assert title.runs[0].font.size == Pt(22)
    body = next(p for p in zh.paragraphs if p.text == "各观测点运行平稳。")
    assert body.runs[0].font.size == Pt(16)
    assert body.paragraph_format.first_line_indent == Pt(32)  # two 16 pt characters
    assert body._p.pPr.ind.get(qn("w:firstLineChars")) == "200"
    assert zh.styles["Normal"].paragraph_format.line_spacing == 1.5
    section = zh.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)


def test_core_properties(zh: DocxDocument) -> None:
    props = zh.core_properties
    assert props.title == "2025年度基层立法联系点工作情况"
    assert props.author == "Outpost"
    assert props.last_modified_by == "Outpost"
    assert props.comments == ""


def test_an_english_document() -> None:
    doc = Document(
        title="Observation points in 2025",
        subtitle="District Justice Bureau, December 2025",
        blocks=[
            Heading("1. Overview"),
            Paragraph("The points sent 128 suggestions.\nOf these, 41 were adopted."),
            Table(["Point", "Suggestions"], [["Chengguan", "12"], ["城关镇司法所", "3"]]),
            Picture(_png(), caption="Figure 1. Suggestions by department", width_cm=40),
        ],
        language="en",
    )
    english = _read(build_docx(doc))
    assert _texts(english) == [
        "Observation points in 2025",
        "District Justice Bureau, December 2025",
        "1. Overview",
        "The points sent 128 suggestions.",
        "Of these, 41 were adopted.",
        "Figure 1. Suggestions by department",
    ]
    body = next(p for p in english.paragraphs if p.text.startswith("Of these"))
    assert body.runs[0].font.name == "Times New Roman"
    assert body.runs[0].font.size == Pt(12)
    assert not body.paragraph_format.first_line_indent
    assert [[c.text for c in row.cells] for row in english.tables[0].rows] == [
        ["Point", "Suggestions"],
        ["Chengguan", "12"],
        ["城关镇司法所", "3"],
    ]
    # Chinese in an English document still gets a Chinese face.
    cell_run = english.tables[0].rows[2].cells[0].paragraphs[0].runs[0]
    assert _east_asia(cell_run) == "宋体"
    # A picture wider than the text column is shrunk to it.
    (shape,) = english.inline_shapes
    section = english.sections[0]
    assert shape.width is not None
    assert section.page_width is not None
    assert section.left_margin is not None
    assert section.right_margin is not None
    assert shape.width <= section.page_width - section.left_margin - section.right_margin
    assert english.core_properties.title == "Observation points in 2025"


def test_empty_parts_are_left_out() -> None:
    doc = Document(
        title="标题",
        subtitle="",
        blocks=[Heading(" "), Paragraph("\n\n"), Table([], []), Picture(_png(), caption="")],
    )
    document = _read(build_docx(doc))
    assert _texts(document) == ["标题"]
    assert document.tables == []
    assert len(document.inline_shapes) == 1


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported document language"):
        build_docx(Document("t", "s", [], language="fr"))
