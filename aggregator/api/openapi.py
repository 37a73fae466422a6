"""The OpenAPI document: what FastAPI derives, plus what it cannot see.

FastAPI documents the parameters, the response models and the ``responses=``
of each route (``aggregator.api.problems.problems``). This module adds:

* the request bodies, which routes read as bytes and the protocol code
  parses (ADR 0013): :func:`request_body` names their model, and the models
  of ``REQUEST_BODIES`` are added to the components;
* the security of each route, from its :class:`~aggregator.api.dependencies.Guard`
  dependencies: a bearer token for staff, the four headers of a signed
  request for institutions (``protocol.request_auth``), or none;
* the problems those guards raise (401, 403, …) and 503 for every route
  that uses the database;
* for every route that reads a JSON body (``aggregator.request_limits``):
  415 for another media type, 413 over its limit and ``deep-json`` (400)
  for nesting deeper than any message;
* no 422 "HTTPValidationError": a bad parameter is answered 400 ``usage``
  by ``aggregator.api.problems``, which each route with a checked parameter
  declares itself.

The document is checked in as ``docs/openapi.json`` (``python -m aggregator.openapi``);
a test compares it with what the app generates.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, APIRouter
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from starlette.routing import BaseRoute

from aggregator.api.dependencies import BEARER, SIGNED_HEADERS, Guard, services
from aggregator.api.models import REQUEST_BODIES, Problem
from aggregator.api.problems import (
    PROBLEM_JSON,
    PROBLEM_SCHEMA,
    PROBLEM_TYPES,
    problem_description,
)
from protocol.errors import (
    DeepJson,
    PayloadTooLarge,
    PubliekError,
    ServiceUnavailable,
    UnsupportedMediaType,
)

REF = "#/components/schemas/{model}"
SIGNED_REQUEST_DESCRIPTION = (
    "An institution signs each request with its enrolled Ed25519 key "
    "(docs/protocol.md section 10): Publiek-Institution, Publiek-Key-Id, "
    "Publiek-Timestamp (Unix seconds, within the allowed clock skew) and "
    "Publiek-Signature (base64url) are all required."
)
SECURITY_SCHEMES: dict[str, Any] = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "Staff (taskforce, privacy officer): a token from POST /v1/auth/tokens "
        "or `publiek aggregator user token`.",
    },
    **{
        name: {
            "type": "apiKey",
            "in": "header",
            "name": header,
            "description": SIGNED_REQUEST_DESCRIPTION,
        }
        for name, header in SIGNED_HEADERS.items()
    },
}


def request_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` of a route that reads its body as bytes: the JSON body
    it expects, described by ``model`` (which must be in ``REQUEST_BODIES``)."""
    assert model in REQUEST_BODIES, f"add {model.__name__} to REQUEST_BODIES"
    return {
        "requestBody": {
            "required": True,
            "description": inspect.cleandoc(model.__doc__ or ""),
            "content": {"application/json": {"schema": {"$ref": REF.format(model=model.__name__)}}},
        }
    }


def _dependencies(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _dependencies(sub)


def _add_problems(responses: dict[str, Any], errors: list[type[PubliekError]]) -> None:
    for error in errors:
        entry = responses.setdefault(
            str(error.status), {"content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}
        )
        types = set(entry.get(PROBLEM_TYPES, [])) | {error.problem_type()}
        entry[PROBLEM_TYPES] = sorted(types)
        entry["description"] = problem_description(types)


def _add_error_pages(responses: dict[str, Any]) -> None:
    """A web page's errors are also pages, for a browser that asks for
    ``text/html`` (``aggregator.api.error_pages``, ADR 0044)."""
    for status, entry in responses.items():
        if status.isdigit() and int(status) >= 400:
            entry.setdefault("content", {})["text/html"] = {"schema": {"type": "string"}}
            entry["description"] = entry.get("description", "") + (
                "; to a request whose `Accept` names `text/html`, the same error as a web page"
            )


def _document_route(operation: dict[str, Any], route: APIRoute) -> None:
    calls = list(_dependencies(route.dependant))
    guards = [c for c in calls if isinstance(c, Guard)]
    responses: dict[str, Any] = operation["responses"]
    if responses.get("422", {}).get("description") == "Validation Error":
        del responses["422"]  # FastAPI's default; bad parameters are a 400 here
    errors = [e for g in guards for e in g.errors]
    if services in calls:
        errors.append(ServiceUnavailable)
    if "requestBody" in (route.openapi_extra or {}):
        errors += [UnsupportedMediaType, PayloadTooLarge, DeepJson]
    _add_problems(responses, errors)
    if "text/html" in responses.get("200", {}).get("content", {}):
        _add_error_pages(responses)
    operation["responses"] = dict(sorted(responses.items()))
    security = [s for g in guards for s in g.security]
    if security:
        operation["security"] = [dict(s) for s in dict.fromkeys(map(_key, security))]


def _key(requirement: dict[str, list[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(sorted((k, tuple(v)) for k, v in requirement.items()))


def openapi_document(app: FastAPI, routes: list[BaseRoute]) -> dict[str, Any]:
    """The document of ``app``, completed for ``routes`` (its routers' own
    routes, as declared: FastAPI wraps included routers)."""
    doc = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        description=app.description,
        routes=app.routes,
    )
    for route in routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in route.methods or ():
                _document_route(doc["paths"][route.path_format][method.lower()], route)
    components = doc.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    documented: tuple[type[BaseModel], ...] = (Problem, *REQUEST_BODIES)
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(m, "validation") for m in documented]
    _, defs = models_json_schema(models, ref_template=REF)
    for name, schema in defs["$defs"].items():
        if schemas.setdefault(name, schema) != schema:
            raise ValueError(f"two different schemas are named {name}")
    components["schemas"] = dict(sorted(schemas.items()))
    components["securitySchemes"] = SECURITY_SCHEMES
    return doc


class PubliekAPI(FastAPI):
    """FastAPI with the completed OpenAPI document (built once, on first use)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.areas: list[APIRouter] = []

    def include_area(self, router: APIRouter) -> None:
        self.include_router(router)
        self.areas.append(router)

    def openapi(self) -> dict[str, Any]:
        if not self.openapi_schema:
            routes = [route for area in self.areas for route in area.routes]
            self.openapi_schema = openapi_document(self, routes)
        return self.openapi_schema
