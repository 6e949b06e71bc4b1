"""The OpenAPI 3.1 document of a project's collections, served at ``GET /rest/v1/``."""

from __future__ import annotations

from typing import Any

from apprun.modules.data.schemas import CollectionSpec, FieldSpec

JSON_TYPES: dict[str, dict[str, Any]] = {
    "text": {"type": "string"},
    "varchar": {"type": "string"},
    "select": {"type": "string"},
    "file": {"type": "string"},
    "relation": {"type": "string"},
    "email": {"type": "string", "format": "email"},
    "url": {"type": "string", "format": "uri"},
    "uuid": {"type": "string", "format": "uuid"},
    "integer": {"type": "integer", "format": "int32"},
    "bigint": {"type": "integer", "format": "int64"},
    "numeric": {"type": "number"},
    "float": {"type": "number", "format": "double"},
    "boolean": {"type": "boolean"},
    "timestamp": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
}
SYSTEM_PROPERTIES: dict[str, dict[str, Any]] = {
    "id": {"type": "string", "description": "Primary key (UUIDv7 unless given on insert)."},
    "created_at": {"type": "string", "format": "date-time", "readOnly": True},
    "updated_at": {"type": "string", "format": "date-time", "readOnly": True},
}
READ_PARAMETERS = [
    {"name": "select", "in": "query", "schema": {"type": "string"},
     "description": "Columns to return, e.g. id,title or alias:column."},
    {"name": "order", "in": "query", "schema": {"type": "string"},
     "description": "e.g. created_at.desc.nullslast,title"},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    {"name": "Prefer", "in": "header", "schema": {"type": "string"},
     "description": "count=exact for Content-Range totals."},
]  # fmt: skip


def field_schema(spec: FieldSpec) -> dict[str, Any]:
    """The JSON schema of one field; nullable fields also admit null."""
    schema: dict[str, Any] = dict(JSON_TYPES.get(spec.type, {}))
    if spec.values is not None:
        schema["enum"] = list(spec.values)
    if spec.max_length is not None:
        schema["maxLength"] = spec.max_length
    if spec.min_length is not None:
        schema["minLength"] = spec.min_length
    if spec.min is not None:
        schema["minimum"] = spec.min
    if spec.max is not None:
        schema["maximum"] = spec.max
    if spec.pattern is not None:
        schema["pattern"] = spec.pattern
    if spec.default is not None:
        schema["default"] = spec.default
    if spec.type == "relation":
        schema["description"] = f"The id of a row of {spec.collection}."
    if not spec.required and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    return schema


def _collection_schema(spec: CollectionSpec, visible: bool) -> dict[str, Any]:
    fields = [f for f in spec.fields if visible or not f.hidden]
    return {
        "type": "object",
        "properties": {**SYSTEM_PROPERTIES, **{f.name: field_schema(f) for f in fields}},
        "required": ["id", *[f.name for f in fields if f.required]],
    }


def _filters(spec: CollectionSpec) -> list[dict[str, Any]]:
    names = ["id", "created_at", "updated_at", *[f.name for f in spec.fields]]
    return [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"},
         "description": "A filter: operator.value, e.g. eq.1, gt.5, in.(a,b), is.null."}
        for name in names
    ]  # fmt: skip


def _paths(spec: CollectionSpec, prefix: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{prefix}{spec.name}"}
    rows = {"type": "array", "items": ref}
    json_rows = {"application/json": {"schema": rows}}
    filters = _filters(spec)
    return {
        "get": {"tags": [spec.name], "summary": f"Read {spec.name}",
                "parameters": [*READ_PARAMETERS, *filters],
                "responses": {"200": {"description": "Rows", "content": json_rows},
                              "206": {"description": "A part of the rows", "content": json_rows}}},
        "post": {"tags": [spec.name], "summary": f"Insert into {spec.name}",
                 "requestBody": {"required": True, "content": {"application/json": {
                     "schema": {"oneOf": [ref, rows]}}}},
                 "responses": {"201": {"description": "Inserted", "content": json_rows}}},
        "patch": {"tags": [spec.name], "summary": f"Update {spec.name}",
                  "parameters": filters,
                  "requestBody": {"required": True,
                                  "content": {"application/json": {"schema": ref}}},
                  "responses": {"200": {"description": "Updated", "content": json_rows},
                                "204": {"description": "Updated"}}},
        "delete": {"tags": [spec.name], "summary": f"Delete rows of {spec.name}",
                   "parameters": filters,
                   "responses": {"200": {"description": "Deleted", "content": json_rows},
                                 "204": {"description": "Deleted"}}},
    }  # fmt: skip


def collections_document(
    project: str, specs: list[CollectionSpec], *, show_hidden: bool, embedded: bool = False
) -> dict[str, Any]:
    """OpenAPI 3.1 for ``/rest/v1`` of one project: one path and one schema per collection.

    ``embedded`` gives the paths their ``/rest/v1`` prefix and the schemas a ``rest_``
    prefix, for merging into the whole API's document.
    """
    base, prefix = ("/rest/v1", "rest_") if embedded else ("", "")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"apprun REST API of project {project}",
            "version": "1",
            "description": "PostgREST-compatible access to the project's collections.",
        },
        "servers": [{"url": "/rest/v1"}],
        "paths": {f"{base}/{spec.name}": _paths(spec, prefix) for spec in specs},
        "components": {
            "schemas": {
                prefix + spec.name: _collection_schema(spec, show_hidden) for spec in specs
            },
            "securitySchemes": {
                "apikey": {"type": "apiKey", "in": "header", "name": "apikey"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
        "security": [{"apikey": []}, {"bearer": []}],
    }
