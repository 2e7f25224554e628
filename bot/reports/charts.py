"""PNG charts for the district office's admin group, readable on a phone.

Callers pass already-translated strings; nothing here knows gettext or the rest of Outpost.
Chinese must come out as real glyphs: a chart of tofu boxes in the office's group is worse
than no chart, so without a CJK font rendering fails loudly (:class:`MissingFont`).

Only matplotlib's object-oriented API over the Agg canvas is used: pyplot keeps global
figure state, and the bot may render from a worker thread. matplotlib (with numpy, some
50 MB) is imported by the functions that draw, on the first chart: a bot that is never
asked for one never loads it, and the import happens in the thread that draws.
"""

from __future__ import annotations

import io
import math
import shutil
import subprocess
import threading
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.text import Annotation
    from matplotlib.typing import RcKeyType

__all__ = ["MissingFont", "Series", "bars", "cjk_font_path", "stacked_bars"]


class MissingFont(RuntimeError):
    """No font with Chinese glyphs: the chart would be boxes, so none is drawn."""


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float]
    color: str | None = None


# Okabe & Ito's palette, told apart with every common colour-vision deficiency; yellow
# comes late because it is faint on white.
PALETTE: Final = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#56B4E9",
    "#CC79A7",
    "#F0E442",
    "#000000",
    "#999999",
)

DPI: Final = 150
WIDTH_IN: Final = 7.2  # 1080 px: a phone shows it full width without scaling text away
HEIGHT_IN: Final = 5.4
EMPTY_HEIGHT_IN: Final = 3.6
# Telegram scales a tall photo down to fit its long side, text and all: 20 categories stay
# under ~1300 px; the cap bounds the shrinking for the rare chart with many more.
MAX_HEIGHT_IN: Final = 13.0

TITLE_PT: Final = 15.0
TEXT_PT: Final = 12.0
SMALL_PT: Final = 11.0  # the floor: anything smaller is unreadable once Telegram scales it

# Budgets for labels, in points, measured with the real font (a CJK character is about
# 1 em, a Latin letter about half that, so counting characters would misjudge mixed text).
TITLE_MAX_PT: Final = (WIDTH_IN - 0.5) * 72
AXES_WIDTH_PT: Final = (WIDTH_IN - 0.9) * 72  # less the value axis, its ticks and label
CATEGORY_MAX_PT: Final = 2.6 * 72  # left of a horizontal chart: ~17 hanzi a line
ROTATED_MAX_PT: Final = 2.0 * 72
LEGEND_MAX_PT: Final = 2.0 * 72

_CJK_SUFFIXES: Final = frozenset({".ttf", ".otf", ".ttc", ".otc"})
# Tried when fontconfig is absent or knows nothing; Simplified-Chinese faces first.
_KNOWN_FONTS: Final = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)

# matplotlib's font cache and FT2Font objects are not thread-safe; one render at a time.
_LOCK = threading.Lock()
_FAMILIES: dict[Path, str] = {}


# --- fonts -----------------------------------------------------------------------------


def _face_score(families: str, style: str) -> int:
    names = families.replace(",", " ").split()
    score = 0
    if "SC" in names or any(n.endswith(("SC", "GB", "CN")) for n in names):
        score += 8  # Simplified-Chinese glyph shapes for the district's readers
    if any("Sans" in n or "Hei" in n for n in names):
        score += 4  # a chart wants a sans face; serif hanzi blur at 11 pt
    if "Mono" in names:
        score -= 6
    if "Regular" in style or not style:
        score += 2
    return score


def _fontconfig_candidates() -> Iterator[tuple[int, str]]:
    exe = shutil.which("fc-list")
    if exe is None:
        return
    try:
        out = subprocess.run(
            [exe, "--format", "%{file}\t%{family}\t%{style}\n", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return
    for line in out.splitlines():
        file, _, rest = line.partition("\t")
        families, _, style = rest.partition("\t")
        if Path(file).suffix.lower() in _CJK_SUFFIXES:
            yield _face_score(families, style), file


@cache
def cjk_font_path() -> Path | None:
    """A font file with Chinese glyphs, a Simplified-Chinese sans face if there is one."""
    best: dict[str, int] = {}
    for score, file in _fontconfig_candidates():
        best[file] = max(score, best.get(file, score))
    ranked = sorted(best, key=lambda f: (-best[f], f))
    for file in [*ranked, *_KNOWN_FONTS]:
        path = Path(file)
        if path.is_file():
            return path
    return None


def _register(path: Path) -> str:
    """Make *path* (and its bold sibling) known to matplotlib; return the family to ask for.

    matplotlib indexes every face of a .ttc collection, so asking for the collection's
    "… SC" family name gets the Simplified-Chinese glyph shapes rather than face 0 (JP).
    """
    if path in _FAMILIES:
        return _FAMILIES[path]
    from matplotlib import font_manager

    real = str(path.resolve())
    manager = font_manager.fontManager
    known = {str(Path(e.fname).resolve()) for e in manager.ttflist}
    for candidate in (path, path.with_name(path.name.replace("Regular", "Bold"))):
        if candidate.is_file() and str(candidate.resolve()) not in known:
            manager.addfont(str(candidate))
    names = sorted(
        {e.name for e in manager.ttflist if str(Path(e.fname).resolve()) == real},
        key=lambda n: (-_face_score(n, ""), n),
    )
    if not names:  # pragma: no cover - addfont raises on a file it cannot read
        raise MissingFont(f"matplotlib cannot read the CJK font {path}")
    _FAMILIES[path] = names[0]
    return names[0]


def _family() -> str:
    path = cjk_font_path()
    if path is None:
        raise MissingFont(
            "no CJK font found: Chinese text would render as boxes. "
            "Install one, e.g. `apt-get install fonts-noto-cjk`."
        )
    return _register(path)


def _rc(family: str) -> dict[RcKeyType, Any]:
    return {
        "font.family": [family, "DejaVu Sans"],
        "font.size": TEXT_PT,
        "axes.unicode_minus": False,  # CJK faces draw U+2212 oddly; counts are positive
        "text.parse_math": False,  # a point name with two "$" must not turn into maths
        "axes.titlesize": TITLE_PT,
        "xtick.labelsize": SMALL_PT,
        "ytick.labelsize": SMALL_PT,
        "legend.fontsize": SMALL_PT,
        "axes.labelsize": SMALL_PT,
        "svg.hashsalt": "outpost",
    }


# --- text fitting ----------------------------------------------------------------------


def _clean(text: str) -> str:
    """One line of printable text: a control character would be drawn as a box."""
    chars = (" " if ch.isspace() else ch for ch in text)
    return " ".join("".join(ch for ch in chars if unicodedata.category(ch)[0] != "C").split())


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


class _Measure:
    """Widths in points with the font the chart really uses, memoised per render."""

    def __init__(self, prop: FontProperties) -> None:
        self.prop = prop
        self._memo: dict[str, float] = {}

    def __call__(self, text: str) -> float:
        if text not in self._memo:
            from matplotlib.textpath import text_to_path

            w, _, _ = text_to_path.get_text_width_height_descent(text, self.prop, ismath=False)
            self._memo[text] = w
        return self._memo[text]


def _tokens(text: str) -> list[str]:
    """Latin words stay whole, each hanzi is its own token (Chinese breaks anywhere)."""
    out: list[str] = []
    word = ""
    for ch in text:
        if ch == " " or _wide(ch):
            if word:
                out.append(word)
                word = ""
            out.append(ch)
        else:
            word += ch
    if word:
        out.append(word)
    return out


# Chinese typography keeps these off the start of a line; they may overhang instead.
_NO_LINE_START: Final = frozenset("，。、；：！？）》」』】〕…%,.;:!?)]")


def _greedy(tokens: list[str], measure: _Measure, max_pt: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for tok in tokens:
        if tok == " ":
            line = line + " " if line else line
        elif (
            not line
            or measure(line + tok) <= max_pt
            or (tok in _NO_LINE_START and measure(line + tok) <= max_pt + SMALL_PT)
        ):
            line += tok
        else:
            lines.append(line.rstrip())
            line = tok
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _prepared(
    text: str, measure: _Measure, max_pt: float, *, break_words: bool
) -> list[str] | None:
    tokens: list[str] = []
    for tok in _tokens(_clean(text)):
        if tok != " " and measure(tok) > max_pt:
            if not break_words:
                return None
            tokens.extend(tok)
        else:
            tokens.append(tok)
    return tokens


def _wrap(text: str, measure: _Measure, max_pt: float, *, break_words: bool) -> list[str] | None:
    """Lines no wider than *max_pt*, as even as their count allows ("第12号基层立法" /
    "联系观测点（试点）" rather than a lone "点）"); None if a word is too wide and must
    not break."""
    tokens = _prepared(text, measure, max_pt, break_words=break_words)
    if tokens is None:
        return None
    lines = _greedy(tokens, measure, max_pt)
    if len(lines) < 2:
        return lines
    budget = measure("".join(lines)) / len(lines)
    while budget < max_pt:
        even = _greedy(tokens, measure, budget)
        if len(even) <= len(lines):
            return even
        budget *= 1.05
    return lines


def _fit(text: str, measure: _Measure, max_pt: float, max_lines: int) -> str:
    """Wrap to at most *max_lines*, ending in "…" when the text does not fit."""
    lines = _wrap(text, measure, max_pt, break_words=True) or [""]
    if len(lines) > max_lines:
        tokens = _prepared(text, measure, max_pt, break_words=True) or []
        lines = _greedy(tokens, measure, max_pt)  # full lines, the cut comes last
        last = lines[max_lines - 1]
        while last and measure(last + "…") > max_pt:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last.rstrip() + "…"]
    return "\n".join(lines)


def _fmt(value: float) -> str:
    if abs(value - round(value)) < 1e-9:
        return str(round(value))
    return f"{value:.1f}"


def _finite(values: Sequence[float]) -> list[float]:
    out = []
    for v in values:
        f = float(v)
        if not math.isfinite(f):
            f = 0.0  # a 0/0 rate is "no data here", drawn as no bar
        if f < 0:
            raise ValueError(f"chart values must not be negative, got {v!r}")
        out.append(f)
    return out


# --- layout ----------------------------------------------------------------------------


def _new_figure(height_in: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    # Constrained layout sizes the margins to the labels; the pads keep text off the edge,
    # which a phone's rounded corners and Telegram's preview crop would otherwise nick.
    layout = ConstrainedLayoutEngine(h_pad=0.1, w_pad=0.12)
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout=layout, facecolor="white")
    FigureCanvasAgg(fig)  # attaches itself: Agg, whatever backend the process chose
    return fig


def _decorate(fig: Figure, measure: _Measure, title: str, note: str) -> None:
    title_prop = _prop(measure, TITLE_PT)
    title_prop.set_weight("bold")  # bold hanzi are wider: measure what is drawn
    title_measure = _Measure(title_prop)
    fig.suptitle(_fit(title, title_measure, TITLE_MAX_PT, 2), fontsize=TITLE_PT, weight="bold")
    if _clean(note):
        fig.supxlabel(
            _fit(note, measure, TITLE_MAX_PT, 2), fontsize=SMALL_PT, color="#555555", x=0.5
        )


def _prop(measure: _Measure, size: float) -> FontProperties:
    prop = measure.prop.copy()
    prop.set_size(size)
    return prop


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    # No "Software" chunk: the same figures give the same bytes across matplotlib versions.
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _empty(title: str, empty_text: str, note: str, measure: _Measure) -> bytes:
    fig = _new_figure(EMPTY_HEIGHT_IN)
    _decorate(fig, measure, title, note)
    body = _Measure(_prop(measure, 13))
    fig.text(
        0.5,
        0.5,
        _fit(empty_text, body, TITLE_MAX_PT, 3),
        ha="center",
        va="center",
        fontsize=13,
        color="#555555",
    )
    return _png(fig)


def _row_major(items: list[Any], ncols: int) -> list[Any]:
    """Reorder so a legend, which fills column by column, reads row by row."""
    nrows, long_cols = divmod(len(items), ncols)
    heights = [nrows + (j < long_cols) for j in range(ncols)]
    return [items[i * ncols + j] for j in range(ncols) for i in range(heights[j])]


def _legend(ax: Axes, measure: _Measure, entries: list[tuple[str, str]]) -> None:
    """Above the plot, in reading order; on the Axes so the layout leaves room for it."""
    if not entries:
        return
    from matplotlib.patches import Patch

    labels = [_fit(label, measure, LEGEND_MAX_PT, 2) for label, _ in entries]
    widest = max(measure(line) for label in labels for line in label.split("\n"))
    column_pt = widest + 3.2 * SMALL_PT  # handle, its gap and the gap between columns
    ncols = max(1, min(len(labels), int(AXES_WIDTH_PT // column_pt)))
    handles = [Patch(facecolor=color, edgecolor="none") for _, color in entries]
    ax.legend(
        handles=_row_major(handles, ncols),
        labels=_row_major(labels, ncols),
        loc="lower center",
        bbox_to_anchor=(0.5, 1.01),
        ncols=ncols,
        frameon=False,
        handlelength=1.2,
        handleheight=1.0,
        columnspacing=1.2,
        handletextpad=0.5,
        borderaxespad=0.3,
    )


def _category_labels(
    categories: Sequence[str], measure: _Measure, horizontal: bool
) -> tuple[list[str], float]:
    """Fitted category labels and their rotation (vertical charts rotate long labels)."""
    if horizontal:
        return [_fit(c, measure, CATEGORY_MAX_PT, 2) for c in categories], 0.0
    slot = AXES_WIDTH_PT / len(categories) - 3
    wraps = [_wrap(c, measure, slot, break_words=False) for c in categories]
    if all(w is not None and len(w) <= 3 for w in wraps) or (
        slot >= 5 * SMALL_PT and all(w is not None for w in wraps)
    ):
        return [_fit(c, measure, slot, 3) for c in categories], 0.0
    # Columns too narrow for the words (or for more than a few hanzi): slant the labels,
    # steeply enough that neighbouring lines do not touch.
    # (A slanted first label also pushes the plot right, so the pitch is less than it seems.)
    spacing = 1.6 * SMALL_PT
    pitch = slot + 3
    angle = 90.0 if pitch <= 1.5 * spacing else max(35.0, math.degrees(math.asin(spacing / pitch)))
    return [_fit(c, measure, ROTATED_MAX_PT, 1) for c in categories], round(angle)


def _height(n_categories: int, labels: list[str], horizontal: bool, n_legend_rows: int) -> float:
    if not horizontal:
        return HEIGHT_IN
    lines = max(label.count("\n") + 1 for label in labels)
    per_category = 0.12 + 0.17 * lines
    chrome = 2.2 + 0.3 * n_legend_rows
    return min(MAX_HEIGHT_IN, max(4.5, chrome + n_categories * per_category))


def _axes(fig: Figure, labels: list[str], rotation: float, horizontal: bool) -> Axes:
    ax = fig.add_subplot()
    positions = list(range(len(labels)))
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_axisbelow(True)
    if horizontal:
        ax.set_yticks(positions, labels)
        ax.set_ylim(len(labels) - 0.5, -0.5)  # first category on top, as it is read
        ax.grid(axis="x", color="#dddddd", linewidth=0.8)
        ax.tick_params(axis="y", length=0)
    else:
        ax.set_xticks(positions, labels)
        ax.set_xlim(-0.5, len(labels) - 0.5)
        ax.grid(axis="y", color="#dddddd", linewidth=0.8)
        ax.tick_params(axis="x", length=0)
        if rotation:
            for tick in ax.get_xticklabels():
                tick.set_rotation(rotation)
                tick.set_horizontalalignment("right")
                tick.set_rotation_mode("anchor")
    return ax


def _value_axis(ax: Axes, horizontal: bool, percent: bool, value_label: str) -> None:
    from matplotlib.ticker import MaxNLocator, MultipleLocator, PercentFormatter

    axis = ax.xaxis if horizontal else ax.yaxis
    if percent:
        axis.set_major_locator(MultipleLocator(20))
        axis.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
        (ax.set_xlim if horizontal else ax.set_ylim)(0, 100)
    else:
        axis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10], min_n_ticks=3))
    if _clean(value_label):
        (ax.set_xlabel if horizontal else ax.set_ylabel)(_clean(value_label))


@dataclass
class _EndLabel:
    text: str
    index: int
    end: float  # where the bar stops, in data units along the value axis
    fill: str  # the colour under the label when it moves inside the bar


def _luminance(color: str) -> float:
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(color)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _end_labels(
    fig: Figure,
    ax: Axes,
    labels: list[_EndLabel],
    *,
    horizontal: bool,
    mode: Literal["extend", "flip", "edge"],
) -> None:
    """Write *labels* at the bars' ends so none leaves the plot or hides under another.

    extend: beside the bar, growing the value axis until every label fits (counts);
    flip: beside the bar, or inside it when the 0-100 % axis leaves no room;
    edge: a column just outside the axes (percent stacks all end at 100 %).
    """
    from matplotlib.transforms import ScaledTranslation

    pad = 4.0
    texts: list[tuple[Annotation, _EndLabel]] = []
    for label in labels:
        if mode == "edge":
            xy = (1.0, label.index) if horizontal else (label.index, 1.0)
            coords: Any = ax.get_yaxis_transform() if horizontal else ax.get_xaxis_transform()
        else:
            xy = (label.end, label.index) if horizontal else (label.index, label.end)
            coords = "data"
        ann = ax.annotate(
            label.text,
            xy=xy,
            xycoords=coords,
            xytext=(pad, 0) if horizontal else (0, pad),
            textcoords="offset points",
            ha="left" if horizontal else "center",
            va="center" if horizontal else "bottom",
            fontsize=SMALL_PT,
            annotation_clip=False,
        )
        texts.append((ann, label))
    if not texts:
        return
    if not horizontal:
        fig.draw_without_rendering()
        slot_px = ax.get_window_extent().width / max(1, len(ax.get_xticks()))
        if any(a.get_window_extent().width > 0.9 * slot_px for a, _ in texts):
            for ann, _ in texts:
                ann.set_rotation(90)
    if mode == "edge":
        legend = ax.get_legend()
        if legend is not None and not horizontal:
            # The counts sit above the plot, where the legend was: lift it over them.
            fig.draw_without_rendering()
            rise_pt = max(a.get_window_extent().height for a, _ in texts) * 72 / DPI + pad
            lift = ScaledTranslation(0, (rise_pt + 2) / 72, fig.dpi_scale_trans)
            legend.set_bbox_to_anchor((0.5, 1.0), transform=ax.transAxes + lift)
        return
    pad_px = pad * DPI / 72
    for _ in range(3):  # the layout moves a little each time the limits change
        fig.draw_without_rendering()
        box = ax.get_window_extent()
        span_px = box.width if horizontal else box.height
        lo, hi = ax.get_xlim() if horizontal else ax.get_ylim()
        needed = hi
        for ann, label in texts:
            extent = ann.get_window_extent()
            size_px = (extent.width if horizontal else extent.height) + pad_px
            bar_px = (label.end - lo) / (hi - lo) * span_px
            if bar_px + size_px <= span_px:
                continue
            if mode == "extend" and span_px > size_px:
                needed = max(needed, lo + (label.end - lo) * span_px / (span_px - size_px))
            elif mode == "flip" and bar_px >= size_px + pad_px:
                ann.xyann = (-pad, 0) if horizontal else (0, -pad)
                if horizontal:
                    ann.set_horizontalalignment("right")
                else:
                    ann.set_verticalalignment("top")
                ann.set_color("white" if _luminance(label.fill) < 0.5 else "black")
        if needed <= hi:
            return
        (ax.set_xlim if horizontal else ax.set_ylim)(lo, needed * 1.02)


# --- public API ------------------------------------------------------------------------


@contextmanager
def _drawing() -> Iterator[_Measure]:
    """One render at a time, in the CJK font; the measure of the chart's small text."""
    import matplotlib
    from matplotlib.font_manager import FontProperties

    with _LOCK, matplotlib.rc_context(_rc(_family())):
        yield _Measure(FontProperties(size=SMALL_PT))


def stacked_bars(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    empty_text: str,
    value_label: str = "",
    horizontal: bool = False,
    percent: bool = False,
    note: str = "",
) -> bytes:
    """One stack per category, one segment per series; PNG bytes.

    percent=True shows each stack's shares (a category with nothing is left empty) and
    writes its count as "n=…" instead of the total.
    """
    matrix = [_finite(s.values) for s in series]
    for s, values in zip(series, matrix, strict=True):
        if len(values) != len(categories):
            raise ValueError(
                f"series {s.label!r} has {len(values)} values for {len(categories)} categories"
            )
    totals = [sum(col) for col in zip(*matrix, strict=True)] if matrix else []
    with _drawing() as measure:
        if not categories or not any(totals):
            return _empty(title, empty_text, note, measure)
        colors = [s.color or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]
        shown = [(s.label, colors[i]) for i, s in enumerate(series) if any(matrix[i])]
        labels, rotation = _category_labels(categories, measure, horizontal)
        legend_rows = math.ceil(len(shown) / 4)
        fig = _new_figure(_height(len(categories), labels, horizontal, legend_rows))
        _decorate(fig, measure, title, note)
        ax = _axes(fig, labels, rotation, horizontal)
        _legend(ax, measure, shown)
        positions = list(range(len(categories)))
        base = [0.0] * len(categories)
        last_fill = ["#ffffff"] * len(categories)
        for values, color in zip(matrix, colors, strict=True):
            if percent:
                values = [v / t * 100 if t else 0.0 for v, t in zip(values, totals, strict=True)]
            draw = ax.barh if horizontal else ax.bar
            draw(positions, values, 0.7, base, color=color, edgecolor="white", linewidth=0.6)
            for i, v in enumerate(values):
                if v:
                    last_fill[i] = color
            base = [b + v for b, v in zip(base, values, strict=True)]
        _value_axis(ax, horizontal, percent, value_label)
        ends = [
            _EndLabel(f"n={_fmt(t)}" if percent else _fmt(t), i, b, last_fill[i])
            for i, (t, b) in enumerate(zip(totals, base, strict=True))
        ]
        _end_labels(fig, ax, ends, horizontal=horizontal, mode="edge" if percent else "extend")
        return _png(fig)


def bars(
    title: str,
    categories: Sequence[str],
    values: Sequence[float],
    *,
    empty_text: str,
    value_label: str = "",
    horizontal: bool = True,
    percent: bool = False,
    annotations: Sequence[str] | None = None,
    note: str = "",
) -> bytes:
    """One bar per category; PNG bytes.

    percent=True takes values on 0..100 (anything above is drawn as 100). Each bar's end
    carries its annotation (e.g. "12/15") or, without annotations, its value.
    """
    numbers = _finite(values)
    if len(numbers) != len(categories):
        raise ValueError(f"{len(numbers)} values for {len(categories)} categories")
    if annotations is not None and len(annotations) != len(categories):
        raise ValueError(f"{len(annotations)} annotations for {len(categories)} categories")
    with _drawing() as measure:
        if not categories or not any(numbers):
            return _empty(title, empty_text, note, measure)
        if percent:
            numbers = [min(v, 100.0) for v in numbers]
        labels, rotation = _category_labels(categories, measure, horizontal)
        fig = _new_figure(_height(len(categories), labels, horizontal, 0))
        _decorate(fig, measure, title, note)
        ax = _axes(fig, labels, rotation, horizontal)
        positions = list(range(len(categories)))
        color = PALETTE[0]
        if horizontal:
            ax.barh(positions, numbers, 0.7, color=color)
        else:
            ax.bar(positions, numbers, 0.7, color=color)
        _value_axis(ax, horizontal, percent, value_label)
        if annotations is None:
            texts = [f"{_fmt(v)}%" if percent else _fmt(v) for v in numbers]
        else:
            texts = [_clean(a) for a in annotations]
        ends = [
            _EndLabel(t, i, v, color) for i, (t, v) in enumerate(zip(texts, numbers, strict=True))
        ]
        _end_labels(fig, ax, ends, horizontal=horizontal, mode="flip" if percent else "extend")
        return _png(fig)
