"""OpenAPI description of the accounts' API (``accounts/api.py``: the token's user, the caller's tokens and this
description itself); put together with the other areas' tables by ``core.openapi.document``.  Change it with
the routes: ``tests/integration/sunbid/test_openapi.py`` compares it with the URL map."""
from __future__ import annotations

from accounts.rules import TOKEN_MAX_DAYS
from core.openapi import (
    BEARER,
    PathTable,
    array,
    body,
    integer,
    json_response,
    nullable,
    obj,
    operation,
    ref,
    string,
)

TAGS = ["accounts"]

TOKEN = obj({"id": integer(), "name": string(), "prefix": string(), "created_at": string(),
             "expires_at": nullable(string()), "last_used_at": nullable(string()),
             "revoked_at": nullable(string())})

PATHS = PathTable({
    "/api/v1/openapi.json": {
        "get": operation("This description (OpenAPI 3.1)", tags=["meta"],
                         ok={200: json_response("The OpenAPI document.", {"type": "object"})}),
    },
    "/api/v1/me": {
        "get": operation("The token's user", tags=TAGS, security=BEARER, ok={200: json_response(
            "Who the token belongs to.",
            obj({"username": string(), "display_name": string(), "role": string(),
                 "organisation": obj({"id": integer(), "name": string(), "credit_code": nullable(string())})}))}),
    },
    "/api/v1/tokens": {
        "get": operation("The caller's API tokens", tags=TAGS, security=BEARER, ok={200: json_response(
            "Each token, newest first: when it expires and when it was last used (to the minute).",
            obj({"items": array(ref("Token"))}))}),
        "post": operation(
            "A new API token of the caller", tags=TAGS, security=BEARER, errors=[400, 429],
            description="It never outlives the token that makes it. The plaintext is in this answer only.",
            request_body=body("application/json", obj({"name": string(maxLength=100),
                                                       "expires_in_days": integer(1, TOKEN_MAX_DAYS)},
                                                      required=("name",)),
                              "The token's name and how many days it is valid (default 90)."),
            ok={201: json_response("The token, with its plaintext.",
                                   {"allOf": [ref("Token"), obj({"token": string()})]})}),
    },
}, schemas={"Token": TOKEN})
