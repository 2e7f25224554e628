"""The charts engine: phone-sized PNGs with real Chinese glyphs, and no crash without data.

The busy charts are also written to /tmp/outpost-charts/ so a person can look at them.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import pytest
from fontTools.ttLib import TTFont
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from bot.reports import charts
from bot.reports.charts import MissingFont, Series, bars, cjk_font_path, stacked_bars
from tests.conftest import unavailable

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
OUT = Path("/tmp/outpost-charts")

MONTHS = [f"{m}月" for m in range(1, 13)]
STATUSES = ["已采纳", "部分采纳", "不予采纳", "办理中", "已转办", "待审核", "已撤回"]
POINTS = [
    "城关镇司法所",
    "东城街道社区法律服务工作站",
    "西山乡人民调解委员会观测点",
    "南湖村",
    "北岗社区",
    *(f"第{i}号基层立法联系观测点{'（试点）' if i % 3 == 0 else ''}" for i in range(6, 21)),
]
DEPARTMENTS = [
    "区司法局",
    "区人民法院",
    "区人民检察院",
    "区公安分局",
    "区市场监督管理局",
    "区人力资源和社会保障局",
]


@pytest.fixture
def cjk_font() -> Path:
    path = cjk_font_path()
    if path is None:
        unavailable("no CJK font for the charts; install Debian's fonts-noto-cjk")
    assert path is not None
    return path


def _image(png: bytes) -> Image.Image:
    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    return image.convert("RGB")


def _colours(image: Image.Image) -> set[tuple[int, int, int]]:
    found = image.getcolors(maxcolors=image.width * image.height)
    assert found is not None
    return {colour for _, colour in found}


def _hex(colour: str) -> tuple[int, int, int]:
    r, g, b = matplotlib.colors.to_rgb(colour)
    return round(r * 255), round(g * 255), round(b * 255)


def _save(name: str, png: bytes) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / name).write_bytes(png)


@contextmanager
def no_missing_glyphs() -> Iterator[None]:
    """matplotlib warns "Glyph … missing from font(s)" when it falls back to boxes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []


def _draw_with_dejavu_only(text: str) -> None:
    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
        fig = Figure()
        FigureCanvasAgg(fig)
        fig.text(0.5, 0.5, text)
        fig.savefig(io.BytesIO(), format="png")


def test_the_glyph_check_notices_boxes() -> None:
    """Without a CJK face matplotlib draws boxes and says so; the check must catch that."""
    with pytest.raises(AssertionError), no_missing_glyphs():
        _draw_with_dejavu_only("观测点")


def test_the_font_found_covers_chinese(cjk_font: Path) -> None:
    number = 0 if cjk_font.suffix.lower() in (".ttc", ".otc") else -1
    with TTFont(cjk_font, fontNumber=number, lazy=True) as font:
        cmap = font.getBestCmap()
    assert all(ord(ch) in cmap for ch in "观测点采纳率，（）")


def test_a_collection_is_asked_for_by_its_simplified_chinese_face(cjk_font: Path) -> None:
    if not cjk_font.name.startswith("NotoSansCJK"):
        pytest.skip(f"{cjk_font} is not Noto Sans CJK")
    assert charts._family() == "Noto Sans CJK SC"


def test_without_a_cjk_font_rendering_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts, "cjk_font_path", lambda: None)
    with pytest.raises(MissingFont, match="fonts-noto-cjk"):
        bars("标题", ["甲"], [1], empty_text="暂无数据")
    assert issubclass(MissingFont, RuntimeError)


@pytest.mark.parametrize(
    "render",
    [
        lambda: stacked_bars("各月情况", [], [], empty_text="暂无数据", note="2025年"),
        lambda: stacked_bars(
            "各月情况", ["1月", "2月"], [Series("已采纳", [0, 0])], empty_text="暂无数据"
        ),
        lambda: bars("采纳率", [], [], empty_text="暂无数据", percent=True),
        lambda: bars("采纳率", ["甲", "乙"], [0, math.nan], empty_text="暂无数据"),
    ],
    ids=["stacked-no-categories", "stacked-all-zero", "bars-no-categories", "bars-all-zero"],
)
def test_no_data_draws_the_title_and_the_empty_text(
    render: Callable[[], bytes], cjk_font: Path
) -> None:
    with no_missing_glyphs():
        png = render()
    image = _image(png)
    assert image.width == 1080
    assert 300 <= image.height <= 900
    colours = _colours(image)
    assert (255, 255, 255) in colours
    assert len(colours) > 5  # anti-aliased text on white: not a blank image


def test_stacked_months_by_status(cjk_font: Path) -> None:
    series = [
        Series(label, [((m * 7 + i * 3) % 9) + (4 if i == 0 else 0) for m in range(12)])
        for i, label in enumerate(STATUSES)
    ]
    with no_missing_glyphs():
        png = stacked_bars(
            "2025年各月意见建议办理情况",
            MONTHS,
            series,
            empty_text="暂无数据",
            value_label="条数",
            note="统计期间：2025年1月1日至2025年12月31日",
        )
    _save("stacked_months.png", png)
    image = _image(png)
    assert image.size == (1080, 810)
    colours = _colours(image)
    for colour in charts.PALETTE[: len(STATUSES)]:
        assert _hex(colour) in colours


def test_stacked_points_as_shares(cjk_font: Path) -> None:
    series = [
        Series(label, [((p * 5 + i * 2) % 7) * (p != 4) for p in range(20)])
        for i, label in enumerate(STATUSES[:4])
    ]
    with no_missing_glyphs():
        png = stacked_bars(
            "各观测点意见建议办理结果占比",
            POINTS,
            series,
            empty_text="暂无数据",
            horizontal=True,
            percent=True,
            note="统计期间：2025年",
        )
    _save("stacked_points_percent.png", png)
    image = _image(png)
    assert image.width == 1080
    assert 1000 <= image.height <= charts.MAX_HEIGHT_IN * charts.DPI
    colours = _colours(image)
    for colour in charts.PALETTE[:4]:
        assert _hex(colour) in colours


def test_a_series_colour_is_used_and_an_empty_series_stays_out(cjk_font: Path) -> None:
    with no_missing_glyphs():
        png = stacked_bars(
            "Suggestions by department",
            ["Justice Bureau", "People's Court of the District"],
            [Series("Adopted", [3, 4], "#aa0000"), Series("Withdrawn", [0, 0])],
            empty_text="No data",
            horizontal=True,
        )
    colours = _colours(_image(png))
    assert (170, 0, 0) in colours
    assert _hex(charts.PALETTE[1]) not in colours  # the all-zero series: no bar, no legend


def test_bars_points_adoption_rate(cjk_font: Path) -> None:
    rates = [(p * 37) % 101 for p in range(20)]
    rates[2] = 100
    with no_missing_glyphs():
        png = bars(
            "各观测点意见建议采纳率",
            POINTS,
            rates,
            empty_text="暂无数据",
            percent=True,
            annotations=[f"{r // 5}/20" for r in rates],
            value_label="采纳率",
            note="统计期间：2025年",
        )
    _save("bars_points_percent.png", png)
    image = _image(png)
    assert image.width == 1080
    assert 1000 <= image.height <= charts.MAX_HEIGHT_IN * charts.DPI
    assert _hex(charts.PALETTE[0]) in _colours(image)


def test_bars_departments_vertical(cjk_font: Path) -> None:
    with no_missing_glyphs():
        png = bars(
            "各部门意见建议办理数量",
            DEPARTMENTS,
            [12, 40, 7, 25, 3, 18],
            empty_text="暂无数据",
            horizontal=False,
            value_label="件",
            note="统计期间：2025年",
        )
    _save("bars_departments.png", png)
    image = _image(png)
    assert image.size == (1080, 810)
    assert _hex(charts.PALETTE[0]) in _colours(image)


def test_english_labels_of_forty_characters(cjk_font: Path) -> None:
    names = [
        "Chengguan Town Judicial Office",
        "Dongcheng Subdistrict Legal Service Point",
        "Xishan",
        "Human Resources and Social Security Bureau",
    ]
    with no_missing_glyphs():
        png = stacked_bars(
            "Suggestions by observation point and status, 1 January to 31 December 2025",
            names,
            [Series(s, [3, 5, 0, 2]) for s in ("Adopted", "Partly adopted", "Not adopted")],
            empty_text="No data",
            horizontal=True,
            note="Period: 1 Jan – 31 Dec 2025",
        )
    _save("english_stacked.png", png)
    assert _image(png).width == 1080


def test_horizontal_charts_grow_with_their_categories_up_to_a_cap(cjk_font: Path) -> None:
    def height(n: int) -> int:
        return _image(bars("点", POINTS[:n], [1] * n, empty_text="无")).height

    assert height(3) < height(20)
    assert _image(
        bars("点", [f"观测点{i}" for i in range(80)], [1] * 80, empty_text="无")
    ).height <= math.ceil(charts.MAX_HEIGHT_IN * charts.DPI)


def test_long_labels_are_wrapped_or_shortened_within_their_budget(cjk_font: Path) -> None:
    with charts._drawing() as measure:
        budget = 100.0
        long_zh = "第十二号基层立法联系点人民调解委员会观测点法律服务工作站试点"
        fitted = charts._fit(long_zh, measure, budget, 2)
        lines = fitted.split("\n")
        assert len(lines) == 2
        assert fitted.endswith("…")
        assert all(measure(line) <= budget for line in lines)

        english = "Dongcheng Subdistrict Legal Service Point"
        lines = charts._fit(english, measure, charts.CATEGORY_MAX_PT, 2).split("\n")
        assert " ".join(lines) == english  # 40 characters fit whole, broken between words
        assert all(measure(line) <= charts.CATEGORY_MAX_PT for line in lines)

        # A closing bracket never starts a line on its own.
        lines = charts._fit("第12号基层立法联系观测点（试点）", measure, 150, 2).split("\n")
        assert not any(line.startswith("）") for line in lines)


def test_control_characters_and_dollars_are_drawn_as_text(cjk_font: Path) -> None:
    with no_missing_glyphs():
        png = bars("收入 $5 与 $6\x07", ["点\x00一", "二\t点"], [1, 2], empty_text="无")
    assert _image(png).width == 1080


def test_rendering_is_deterministic(cjk_font: Path) -> None:
    def render() -> bytes:
        return bars("采纳率", POINTS[:5], [10, 20, 30, 40, 50], empty_text="无", percent=True)

    assert render() == render()


def test_threads_may_render_at_once(cjk_font: Path) -> None:
    def render(i: int) -> bytes:
        return bars(f"图{i}", DEPARTMENTS, [i, 2, 3, 4, 5, 6], empty_text="无")

    with ThreadPoolExecutor(max_workers=3) as pool:
        pngs = list(pool.map(render, [1, 2, 1, 2]))
    assert pngs[0] == pngs[2]
    assert pngs[1] == pngs[3]
    assert pngs[0] != pngs[1]


@pytest.mark.parametrize(
    ("render", "message"),
    [
        (lambda: bars("x", ["a", "b"], [1], empty_text="none"), "1 values for 2 categories"),
        (
            lambda: bars("x", ["a"], [1], empty_text="none", annotations=["1", "2"]),
            "2 annotations for 1 categories",
        ),
        (lambda: bars("x", ["a"], [-1], empty_text="none"), "must not be negative"),
        (
            lambda: stacked_bars("x", ["a", "b"], [Series("s", [1])], empty_text="none"),
            "series 's' has 1 values for 2 categories",
        ),
    ],
    ids=["values", "annotations", "negative", "series"],
)
def test_inconsistent_input_is_refused(
    render: Callable[[], bytes], message: str, cjk_font: Path
) -> None:
    with pytest.raises(ValueError, match=message):
        render()
