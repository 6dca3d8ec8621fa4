"""The programme statistics contract: what every service's ``GET /api/v1/statistics/{topic}``
answers (officers only), and what the officers' dashboard draws and offers as CSV.

One shape for every topic, so the dashboard needs no per-service code: a report holds figures,
each a flat table of rows (dimension values plus one number). Each service computes its figures
from its own database (its own data and the read models its consumers keep), never from
another service's. Filters are the same everywhere: ``county`` (one of :data:`County`) and a
period of months ``from``/``to`` (``YYYY-MM``, inclusive).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.common import County

#: The topics and the service that answers each (the gateway routes by this table).
TOPIC_OWNERS: dict[str, str] = {
    "workers": "registry",
    "training": "training",
    "subsidies": "training",
    "training-bases": "training",
    "credit": "credit",
    "cards": "credit",
    "insurance": "credit",
    "stars": "rating",
    "jobs": "matching",
    "fairs": "matching",
}

Unit = Literal["count", "percent", "yuan", "days", "hours"]
Chart = Literal["bar", "stacked_bar", "line", "pie", "gauge", "table"]
#: The request filters a figure honours (a figure whose data carries no county ignores it).
FilterName = Literal["county", "period"]


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    county: County | None = Field(None, description="Only this county; all counties if absent")
    from_month: str | None = Field(
        None, alias="from", pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="First month"
    )
    to_month: str | None = Field(
        None, alias="to", pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="Last month"
    )


class Figure(BaseModel):
    """One chart's data: ``rows`` are flat records of the ``dimensions`` and ``value``."""

    model_config = ConfigDict(extra="forbid")

    key: str = Field(description="Stable identifier, e.g. workers_by_status_county")
    title: str = Field(description="Human title in the request's language")
    unit: Unit
    chart: Chart = Field(description="How the dashboard draws it")
    dimensions: list[str] = Field(description="Names of the row fields other than value")
    rows: list[dict[str, str | int | float | None]] = Field(
        description="Each row: one value per dimension plus 'value'"
    )
    target: float | None = Field(None, description="The programme's goal for this figure, if any")
    policy_version: int | None = Field(None, description="Policy version behind a target")
    filters_applied: list[FilterName] = Field(
        default_factory=list,
        description="Which request filters this figure honours; the others do not apply to it",
    )


class StatisticsReport(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    topic: str
    filters: Filters
    generated_at: str = Field(description="RFC 3339 time the figures were computed")
    figures: list[Figure]
