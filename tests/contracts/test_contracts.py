"""Contract tests: the event models, the catalog and the generated documents agree."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts import generate
from contracts.catalog import (
    ALL_EVENTS,
    EVENTS_BY_SUBJECT,
    EVENTS_BY_TYPE,
    STREAMS,
    model_for,
    stream_for,
)
from contracts.envelope import EventData

EVENT_IDS = [m.__name__ for m in ALL_EVENTS]


def _subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard match: ``*`` is one token, a trailing ``>`` is one or more."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or token not in ("*", have[i]):
            return False
    return len(want) == len(have)


# (a) generated files ----------------------------------------------------------------------------


def test_generated_files_match_models() -> None:
    differing = generate.check()
    assert not differing, (
        f"generated contract files are out of date: {differing}; run python -m contracts.generate"
    )


def test_check_detects_drift_and_stale_files(tmp_path: Path) -> None:
    assert len(generate.check(tmp_path)) == len(generate.render())  # nothing written yet
    generate.write(tmp_path)
    assert generate.check(tmp_path) == []

    (tmp_path / generate.DOCS_PATH).write_text("edited by hand\n", encoding="utf-8")
    stale = tmp_path / generate.SCHEMA_DIR / "jiasao.registry.worker.deleted.v1.json"
    stale.write_text("{}\n", encoding="utf-8")
    assert generate.check(tmp_path) == sorted(
        [generate.DOCS_PATH, f"{generate.SCHEMA_DIR}/{stale.name}"]
    )

    generate.write(tmp_path)
    assert generate.check(tmp_path) == []
    assert not stale.exists()


def test_render_is_deterministic() -> None:
    assert generate.render() == generate.render()


@pytest.mark.parametrize("model", ALL_EVENTS, ids=EVENT_IDS)
def test_schema_file_pins_type_and_types_data(model: type[EventData]) -> None:
    text = generate.render()[f"{generate.SCHEMA_DIR}/{model.event_type}.json"]
    schema = json.loads(text)
    assert schema["properties"]["type"]["const"] == model.event_type
    assert schema["properties"]["source"]["const"] == f"/jiasao/{model.producer}"
    assert schema["properties"]["data"] == {"$ref": f"#/$defs/{model.__name__}"}
    assert schema["$defs"][model.__name__]["additionalProperties"] is False


def test_asyncapi_has_a_send_operation_per_subject_and_refs_resolve() -> None:
    doc = yaml.safe_load(generate.render()[generate.ASYNCAPI_PATH])
    assert doc["asyncapi"] == "3.0.0"
    assert doc["info"]["title"] == "Jiasao events"
    assert doc["servers"]["local"] == {
        "host": "127.0.0.1:4222",
        "protocol": "nats",
        "description": doc["servers"]["local"]["description"],
    }
    assert sorted(c["address"] for c in doc["channels"].values()) == sorted(EVENTS_BY_SUBJECT)
    for operation in doc["operations"].values():
        assert operation["action"] == "send"
        assert operation["tags"][0]["name"] in {m.producer for m in ALL_EVENTS}

    def resolve(ref: str) -> Any:
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        return node

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                resolve(node["$ref"])  # KeyError if dangling
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)


# (b) naming -----------------------------------------------------------------------------------


def test_catalog_is_complete_and_unique() -> None:
    assert len(ALL_EVENTS) == len(set(ALL_EVENTS)) == 30
    assert set(EVENTS_BY_TYPE.values()) == set(ALL_EVENTS)
    assert set(EVENTS_BY_SUBJECT.values()) == set(ALL_EVENTS)


@pytest.mark.parametrize("model", ALL_EVENTS, ids=EVENT_IDS)
def test_naming_follows_the_design(model: type[EventData]) -> None:
    assert re.fullmatch(r"[a-z]+\.[a-z_]+\.[a-z_]+", model.subject), model.subject
    assert model.subject.split(".")[0] == model.producer
    assert model.event_type == f"jiasao.{model.subject}.v1"
    stream = stream_for(model.subject)
    assert stream == model.producer.upper()
    assert any(_subject_matches(p, model.subject) for p in STREAMS[stream])
    assert model_for(model.event_type) is model


def test_streams_do_not_overlap() -> None:
    for model in ALL_EVENTS:
        owners = [
            s
            for s, pats in STREAMS.items()
            if any(_subject_matches(p, model.subject) for p in pats)
        ]
        assert owners == [model.producer.upper()], model.subject


@pytest.mark.parametrize("model", ALL_EVENTS, ids=EVENT_IDS)
def test_every_field_is_described_and_aggregate_field_exists(model: type[EventData]) -> None:
    for name, field in model.model_fields.items():
        assert field.description, f"{model.__name__}.{name} has no description"
    assert generate.aggregate_field(model) in model.model_fields
