"""Generate the checked-in contract documents from the models in :mod:`contracts.catalog`.

``python -m contracts.generate`` writes them; ``python -m contracts.generate --check`` writes
nothing and exits 1 listing the files that differ. Output is deterministic (no timestamps, fixed
key order) so the check is stable.

Outputs, relative to the project root:

- ``contracts/schemas/<event type>.json``: JSON Schema of the whole CloudEvents envelope, with
  ``data`` typed by the event's model;
- ``contracts/asyncapi.yaml``: AsyncAPI 3.0 document, one channel per NATS subject;
- ``docs/events.md``: human-readable catalogue.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from contracts.catalog import ALL_EVENTS, STREAMS, stream_for
from contracts.envelope import CloudEvent, EventData

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = "contracts/schemas"
ASYNCAPI_PATH = "contracts/asyncapi.yaml"
DOCS_PATH = "docs/events.md"
COMMAND = "python -m contracts.generate"

JsonSchema = dict[str, Any]


# --- JSON Schema ------------------------------------------------------------------------------


def aggregate_field(model: type[EventData]) -> str:
    """Name of the payload field that becomes the CloudEvents ``subject``."""
    field = getattr(model, "aggregate_field", None)
    if not isinstance(field, str):
        raise TypeError(f"{model.__name__} does not name its aggregate_field")
    return field


def envelope_schema(model: type[EventData], ref_template: str = "#/$defs/{model}") -> JsonSchema:
    """Schema of ``CloudEvent[model]``, with ``type`` and ``source`` pinned to this event.

    The envelope model accepts any type string (it is generic); a schema for one event can say
    exactly which ``type`` and ``source`` it carries, as ``envelope_for`` sets them.
    """
    schema = CloudEvent[model].model_json_schema(ref_template=ref_template)
    props = schema["properties"]
    props["type"]["const"] = model.event_type
    props["source"]["const"] = f"/jiasao/{model.producer}"
    schema["title"] = f"{model.__name__}Envelope"
    return schema


def schema_file(model: type[EventData]) -> JsonSchema:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **envelope_schema(model)}


def dump_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- AsyncAPI ---------------------------------------------------------------------------------


class _NoAliasDumper(yaml.SafeDumper):
    """Never emit YAML anchors/aliases: the document should read plainly."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _summary(model: type[EventData]) -> str:
    return (model.__doc__ or model.__name__).strip().splitlines()[0]


def _description(model: type[EventData]) -> str:
    return " ".join((model.__doc__ or model.__name__).split())


def channel_id(model: type[EventData]) -> str:
    # Underscores rather than dots: ids may become identifiers in generated code.
    return model.subject.replace(".", "_")


def asyncapi_document() -> dict[str, Any]:
    schemas: dict[str, JsonSchema] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for model in ALL_EVENTS:
        name = model.__name__
        envelope = envelope_schema(model, ref_template="#/components/schemas/{model}")
        for def_name, definition in envelope.pop("$defs", {}).items():
            if schemas.setdefault(def_name, definition) != definition:
                raise RuntimeError(f"two different schemas named {def_name}")
        schemas[f"{name}Envelope"] = envelope

        messages[name] = {
            "name": name,
            "title": model.event_type,
            "summary": _summary(model),
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {
                    "Nats-Msg-Id": {
                        "type": "string",
                        "description": "The event id, for JetStream de-duplication",
                    }
                },
            },
            "payload": {"$ref": f"#/components/schemas/{name}Envelope"},
        }
        cid = channel_id(model)
        channels[cid] = {
            "address": model.subject,
            "title": name,
            "description": _description(model),
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "x-jetstream-stream": stream_for(model.subject),
        }
        operations[f"send_{cid}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{cid}"},
            "title": f"{model.producer} publishes {name}",
            "summary": _summary(model),
            "messages": [{"$ref": f"#/channels/{cid}/messages/{name}"}],
            "tags": [{"name": model.producer}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Jiasao events",
            "version": "1.0.0",
            "description": (
                "Events published on NATS JetStream by the Jiasao services. Every message is a"
                " CloudEvents 1.0 structured-mode JSON envelope (plus `traceparent`); `data` is"
                " the event payload. One stream per producing service: "
                + ", ".join(f"{s} ({', '.join(subjects)})" for s, subjects in STREAMS.items())
                + "."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:4222",
                "protocol": "nats",
                "description": "Development NATS server with JetStream (nats://127.0.0.1:4222)",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def dump_asyncapi() -> str:
    body = yaml.dump(
        asyncapi_document(),
        Dumper=_NoAliasDumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return f"# Generated by `{COMMAND}` from contracts/; do not edit.\n{body}"


# --- Markdown ---------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _prose(text: str) -> str:
    """A plain-text cell: the `*` of masked numbers and `<service>` must not become markup."""
    for char, escaped in (("*", "\\*"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(char, escaped)
    return _cell(text)


def type_text(schema: JsonSchema) -> str:
    """A short human-readable rendering of a (pydantic-generated) JSON Schema type."""
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        text = " or ".join(type_text(s) for s in options)
        return f"{text} or null" if len(options) < len(schema["anyOf"]) else text
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "const" in schema:
        return f"`{schema['const']}`"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {type_text(schema.get('items', {}))}"
    if "format" in schema:
        return f"{kind} ({schema['format']})"
    limits: list[str] = []
    if "pattern" in schema:
        limits.append(f"`{schema['pattern']}`")
    if "minLength" in schema or "maxLength" in schema:
        limits.append(f"length {schema.get('minLength', 0)}..{schema.get('maxLength', '')}")
    if "minimum" in schema or "maximum" in schema:
        limits.append(f"{schema.get('minimum', '')}..{schema.get('maximum', '')}")
    return f"{kind} ({', '.join(limits)})" if limits else kind


def _field_table(schema: JsonSchema) -> list[str]:
    required = set(schema.get("required", []))
    lines = ["| Field | Type | Required | Description |", "|---|---|---|---|"]
    for name, prop in schema["properties"].items():
        lines.append(
            f"| `{name}` | {_cell(type_text(prop))} | {'yes' if name in required else 'no'}"
            f" | {_prose(prop.get('description', ''))} |"
        )
    return lines


# Descriptions for envelope attributes that envelope.py leaves undescribed.
ENVELOPE_NOTES = {
    "specversion": "CloudEvents version, always 1.0",
    "id": "Event id, a UUIDv7; also the Nats-Msg-Id header, so JetStream drops duplicates",
    "time": "When the event happened (RFC 3339, with offset)",
    "datacontenttype": "Always application/json",
    "data": "The event payload, described per event below",
}


def events_markdown() -> str:
    out = [
        "# Events",
        "",
        f"<!-- Generated by `{COMMAND}` from contracts/; do not edit by hand. -->",
        "",
        "Every event is a CloudEvents 1.0 structured-mode JSON envelope published on NATS"
        " JetStream. The envelope's `subject` attribute is the id of the aggregate the event is"
        " about; `data` is the payload described below. Payloads never carry plaintext ID-card"
        " or phone numbers, only masked forms. JSON Schemas of the full envelopes are in"
        " [`contracts/schemas/`](../contracts/schemas/), the AsyncAPI document is"
        " [`contracts/asyncapi.yaml`](../contracts/asyncapi.yaml).",
        "",
        "| Subject | Type | Producer | Stream | Aggregate id field |",
        "|---|---|---|---|---|",
    ]
    for model in ALL_EVENTS:
        out.append(
            f"| [`{model.subject}`](#{model.subject.replace('.', '')}) | `{model.event_type}`"
            f" | {model.producer} | `{stream_for(model.subject)}` | `{aggregate_field(model)}` |"
        )
    out += ["", "## Streams", "", "| Stream | Subjects |", "|---|---|"]
    out += [f"| `{s}` | {', '.join(f'`{x}`' for x in subs)} |" for s, subs in STREAMS.items()]
    out += ["", "## Envelope", ""]
    envelope = CloudEvent[dict[str, Any]].model_json_schema()
    for name, text in ENVELOPE_NOTES.items():
        envelope["properties"][name].setdefault("description", text)
    out += _field_table(envelope)
    for model in ALL_EVENTS:
        schema = model.model_json_schema()
        out += [
            "",
            f"## {model.subject}",
            "",
            f"**{model.__name__}**: {_description(model)}",
            "",
            f"- Type: `{model.event_type}`",
            f"- Producer: {model.producer}; stream `{stream_for(model.subject)}`",
            f"- CloudEvents `subject`: the `{aggregate_field(model)}` field",
            f"- Schema: [`{model.event_type}.json`](../{SCHEMA_DIR}/{model.event_type}.json)",
            "",
            *_field_table(schema),
        ]
    return "\n".join(out) + "\n"


# --- Driver -----------------------------------------------------------------------------------


def render() -> dict[str, str]:
    """Every generated file, by path relative to the project root."""
    files = {f"{SCHEMA_DIR}/{m.event_type}.json": dump_json(schema_file(m)) for m in ALL_EVENTS}
    files[ASYNCAPI_PATH] = dump_asyncapi()
    files[DOCS_PATH] = events_markdown()
    return files


def _stale(root: Path, files: dict[str, str]) -> list[str]:
    """Schema files on disk that no model generates any more (e.g. a removed event)."""
    found = sorted((root / SCHEMA_DIR).glob("*.json"))
    return [rel for p in found if (rel := p.relative_to(root).as_posix()) not in files]


def check(root: Path = ROOT) -> list[str]:
    """Paths whose content on disk differs from what the models generate; writes nothing."""
    files = render()
    differing = [
        rel
        for rel, text in files.items()
        if not (root / rel).is_file() or (root / rel).read_text(encoding="utf-8") != text
    ]
    return sorted(differing + _stale(root, files))


def write(root: Path = ROOT) -> list[str]:
    """Write every generated file and delete stale schemas; returns the paths changed."""
    changed = check(root)
    files = render()
    for rel in changed:
        path = root / rel
        if rel in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[rel], encoding="utf-8", newline="\n")
        else:
            path.unlink()
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if any generated file is out of date"
    )
    args = parser.parse_args(argv)
    if args.check:
        differing = check()
        for rel in differing:
            print(f"out of date: {rel}", file=sys.stderr)
        if differing:
            print(f"run `{COMMAND}` and commit the result", file=sys.stderr)
            return 1
        print("contracts: generated files are up to date")
        return 0
    changed = write()
    for rel in changed:
        print(f"wrote {rel}")
    print(f"contracts: {len(changed)} file(s) changed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
