"""The statistics figures as the dashboard shows them: the data a chart draws (the figure's own
rows, with words for the codes), the accessible table under it, and the CSV of exactly its rows.
Pure functions, no I/O."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from contracts.statistics import Figure, StatisticsReport
from gateway.web.i18n import catalogue, label

#: A spreadsheet would run text starting with these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class FigureView:
    topic: str
    figure: Figure
    #: What dashboard.js draws: the rows as given plus display words for headers and codes.
    chart: dict[str, Any]
    headers: list[str]
    #: The table's cells, in words.
    cells: list[list[str]]
    #: The programme's goal, as text (None without one).
    target: str | None = None

    @property
    def element_id(self) -> str:
        return f"{self.topic}--{self.figure.key}"


def dimension_name(dimension: str, lang: str) -> str:
    return catalogue(lang).get(f"dim_{dimension}", dimension)


def cell_text(value: object, lang: str, *, amount: bool = False) -> str:
    """A cell in words: codes translated; amounts grouped by thousands (a year stays 2026)."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        text = f"{value:,.2f}" if amount else f"{value:.2f}"
        text = text.rstrip("0").rstrip(".") if isinstance(value, float) else text[:-3]
        return text
    return label(value, lang)


def figure_view(topic: str, figure: Figure, lang: str) -> FigureView:
    words: dict[str, str] = {}
    for row in figure.rows:
        for dimension in figure.dimensions:
            value = row.get(dimension)
            if isinstance(value, str):
                words.setdefault(value, label(value, lang))
    headers = [dimension_name(d, lang) for d in figure.dimensions]
    words_of = catalogue(lang)
    headers.append(f"{words_of['value']} ({words_of.get('unit_' + figure.unit, figure.unit)})")
    cells = [
        [cell_text(row.get(d), lang) for d in figure.dimensions]
        + [cell_text(row.get("value"), lang, amount=True)]
        for row in figure.rows
    ]
    target = cell_text(figure.target, lang, amount=True) if figure.target is not None else None
    chart = {
        "key": figure.key,
        "title": figure.title,
        "chart": figure.chart,
        "unit": figure.unit,
        "target": figure.target,
        "dimensions": figure.dimensions,
        "dimension_names": headers[:-1],
        "rows": figure.rows,
        "words": words,
        "target_label": catalogue(lang)["figure_target"],
    }
    return FigureView(topic, figure, chart, headers, cells, target)


def report_views(report: StatisticsReport, lang: str) -> list[FigureView]:
    return [figure_view(report.topic, figure, lang) for figure in report.figures]


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return str(value)


def figure_csv(figure: Figure) -> str:
    """The figure's rows as CSV: one column per dimension, then ``value``; codes as the API
    gives them (not translated), so the file matches the figure exactly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*figure.dimensions, "value"])
    for row in figure.rows:
        writer.writerow([_csv_cell(row.get(d)) for d in (*figure.dimensions, "value")])
    return out.getvalue()
