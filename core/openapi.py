"""The OpenAPI 3.1 description of ``/api/v1``, served at ``GET /api/v1/openapi.json``.

Each area keeps a declarative table of its operations next to its API module (``accounts/openapi.py``,
``tender/openapi.py``, ``audit/openapi.py``) and declares it as ``Area.openapi``: a ``PathTable`` mapping an
OpenAPI path to its operations, written with the small helpers below, with the component schemas its
operations refer to (``ref``).  ``document()`` puts the tables together with the shared parts (the bearer-token
scheme, the error body).  ``tests/integration/sunbid/test_openapi.py`` compares the result with the app's URL map in
both directions and validates it against the OpenAPI 3.1 schema, so a route added, removed or changed without
its entry fails the suite.  docs/api.md is the reader's guide.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from core.rules import MAX_ID

OPENAPI_VERSION = "3.1.0"
API_PREFIX = "/api/v1"

BEARER = [{"bearer": []}]
"""``security`` of an operation that needs an API token."""
OPTIONAL_BEARER = [{}, {"bearer": []}]
"""``security`` of a public operation that says more to some token holders."""

ERROR_CODES = {
    400: "The request is not valid: a parameter, header or body refused, named in ``error.field``.",
    401: "No valid API token: missing for this operation, or unknown, malformed or revoked.",
    403: "The token's user has not the role this operation needs.",
    404: "No such object, or not one the caller may see.",
    405: "The method is not allowed on this path.",
    409: "The request conflicts with the object's current state.",
    410: "The object is closed and takes no more requests.",
    412: "A precondition header is missing or wrong.",
    413: "The body is larger than the limit.",
    415: "The body is not of the expected media type.",
    423: "The object is busy with another request.",
    429: "Too many attempts.",
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def string(**more: Any) -> dict[str, Any]:
    return {"type": "string", **more}


def integer(minimum: int = 0, maximum: int = MAX_ID, **more: Any) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "maximum": maximum, **more}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [schema, {"type": "null"}]}


def obj(properties: Mapping[str, Any], *, required: Iterable[str] | None = None,
        extra: bool = True) -> dict[str, Any]:
    """A JSON object; every property is required unless ``required`` names fewer."""
    out: dict[str, Any] = {"type": "object", "properties": dict(properties),
                           "required": list(properties if required is None else required)}
    if not extra:
        out["additionalProperties"] = False
    return out


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def page_of(item: dict[str, Any]) -> dict[str, Any]:
    return obj({"items": array(item), "page": integer(1), "per_page": integer(1), "total": integer(),
                "pages": integer(1)})


def path_id(name: str, description: str) -> dict[str, Any]:
    """A database id in the path (the ``<id:…>`` URL converter: ASCII digits, 0 … ``core.rules.MAX_ID``)."""
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": integer(0, MAX_ID)}


def path_string(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": string(**schema)}


def query(name: str, schema: dict[str, Any], description: str, *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def header(name: str, schema: dict[str, Any], description: str, *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "description": description, "schema": schema}


def json_response(description: str, schema: dict[str, Any], headers: Mapping[str, Any] | None = None) -> dict:
    out: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        out["headers"] = dict(headers)
    return out


def empty_response(description: str, headers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if headers:
        out["headers"] = dict(headers)
    return out


def response_header(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "schema": schema}


def body(media_type: str, schema: dict[str, Any], description: str, *, required: bool = True) -> dict[str, Any]:
    return {"description": description, "required": required, "content": {media_type: {"schema": schema}}}


def operation(summary: str, *, ok: Mapping[int, dict[str, Any]], errors: Iterable[int] = (),
              security: list | None = None, parameters: Iterable[dict[str, Any]] = (),
              request_body: dict[str, Any] | None = None, description: str | None = None,
              tags: Iterable[str] = ()) -> dict[str, Any]:
    """One operation: its answers ``ok`` (status → response), the error statuses it may give (each with the
    error body; every other status is the ``default`` error), who may call it (``security``: None = anyone)."""
    responses: dict[str, Any] = {str(status): resp for status, resp in ok.items()}
    for status in sorted(set(errors) | ({401} if security else set())):
        responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    responses["default"] = {"$ref": "#/components/responses/Error"}
    out: dict[str, Any] = {"summary": summary, "responses": responses}
    if description:
        out["description"] = description
    if tags:
        out["tags"] = list(tags)
    out["security"] = security if security is not None else []
    params = list(parameters)
    if params:
        out["parameters"] = params
    if request_body is not None:
        out["requestBody"] = request_body
    return out


ERROR_SCHEMA = obj({"error": obj({"code": string(description="A stable code, e.g. invalid_input, not_found."),
                                  "message": string(description="A sentence for people, in the caller's language."),
                                  "field": string(description="The parameter, header or field refused.")},
                                 required=("code", "message"))})

class PathTable(dict):
    """An area's part of the description: OpenAPI paths to their operations (a ``dict``), and ``schemas``, the
    components its operations refer to by ``ref(name)``."""

    def __init__(self, paths: Mapping[str, dict[str, Any]], *, schemas: Mapping[str, Any] | None = None) -> None:
        super().__init__(paths)
        self.schemas: dict[str, Any] = dict(schemas or {})


def document(tables: Iterable[Mapping[str, dict[str, Any]]], *, version: str = "1") -> dict[str, Any]:
    """The whole OpenAPI document from the areas' tables (a path or a schema may appear in one table only)."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for table in tables:
        for path, ops in table.items():
            if path in paths:
                raise ValueError(f"{path} is described twice")
            paths[path] = ops
        for name, schema in getattr(table, "schemas", {}).items():
            if name in schemas:
                raise ValueError(f"schema {name} is described twice")
            schemas[name] = schema
    responses = {f"E{status}": json_response(text, ref("Error")) for status, text in ERROR_CODES.items()}
    responses["Error"] = json_response("An error, in the same JSON form.", ref("Error"))
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Sunbid API", "version": version,
                 "description": "The JSON API of the Sunbid tendering platform; see docs/api.md. Authenticate "
                                "with an API token (account page) sent as `Authorization: Bearer <token>`."},
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "An API token made on the account page (sb_…)."}},
            "schemas": dict(sorted(schemas.items())),
            "responses": responses,
        },
    }
