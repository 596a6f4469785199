"""OpenAPI document: problem details described as ``application/problem+json``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema

from pulse.api.problems import PROBLEM_MEDIA_TYPE, Problem, ValidationProblem
from pulse.api.ratelimit import EXEMPT_PATHS as RATE_LIMIT_EXEMPT_PATHS
from pulse.api.schemas import NotReadyProblem

REF_TEMPLATE = "#/components/schemas/{model}"
PROBLEM_MODELS: tuple[type[Problem], ...] = (Problem, ValidationProblem, NotReadyProblem)

# FastAPI documents 422 with its own {"detail": [...]} shape, which this API never sends.
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _problem_content(model: type[Problem]) -> dict[str, Any]:
    return {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": REF_TEMPLATE.format(model=model.__name__)}}}


def problem_responses(
    *entries: tuple[int, type[Problem]],
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for a route or app, one per (status, problem model)."""
    return {
        int(status): {
            "description": f"{HTTPStatus(status).phrase}: {model.__doc__ or 'a problem.'}",
            "content": _problem_content(model),
        }
        for status, model in entries
    }


def document_problems(schema: dict[str, Any]) -> None:
    """Add the problem schemas and describe every 422 as a ValidationProblem."""
    _, definitions = models_json_schema(
        [(model, "serialization") for model in PROBLEM_MODELS], ref_template=REF_TEMPLATE
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(definitions.get("$defs", {}))
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            if "422" in responses:
                responses["422"] = {
                    "description": "The request failed validation.",
                    "content": _problem_content(ValidationProblem),
                }
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        components.pop(name, None)


IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": (
        "Makes a retried POST safe: the same key with the same request within 24 h "
        "gets the first answer back (with `Idempotent-Replayed: true`) instead of "
        "running again; the same key with another request is refused (422)."
    ),
}

RATE_LIMITED: dict[str, Any] = {
    "description": (
        "Too Many Requests: over the per-IP or per-project rate limit. `Retry-After` "
        "says when to try again; `RateLimit` and `RateLimit-Policy` describe the quota."
    ),
    "headers": {
        "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."},
        "RateLimit": {"schema": {"type": "string"}},
        "RateLimit-Policy": {"schema": {"type": "string"}},
    },
    "content": _problem_content(Problem),
}


UNAVAILABLE: dict[str, Any] = {
    "description": "Service Unavailable: a service Pulse depends on is down; retry later.",
    "content": _problem_content(Problem),
}
TOO_LARGE: dict[str, Any] = {
    "description": "Content Too Large: the body exceeds the configured limit.",
    "content": _problem_content(Problem),
}
BAD_IDEMPOTENCY_KEY: dict[str, Any] = {
    "description": "Bad Request: a malformed Idempotency-Key, or the header sent twice.",
    "content": _problem_content(Problem),
}


def document_conventions(schema: dict[str, Any], idempotency_exempt: tuple[str, ...]) -> None:
    """Describe what the middleware adds to every route: limits, idempotency, outages."""
    for path, path_item in schema.get("paths", {}).items():
        if not path.startswith("/v1/"):
            continue  # /health and /ready are never limited.
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            if path not in RATE_LIMIT_EXEMPT_PATHS:  # e.g. LiveKit's webhooks
                responses.setdefault("429", RATE_LIMITED)
            responses.setdefault("503", UNAVAILABLE)
            if method in ("post", "put", "patch"):
                responses.setdefault("413", TOO_LARGE)
            if method == "post" and not path.startswith(idempotency_exempt):
                operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY_PARAMETER)
                responses.setdefault("400", BAD_IDEMPOTENCY_KEY)


class PulseAPI(FastAPI):
    idempotency_exempt: tuple[str, ...] = ()

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            # The parent caches the document it returns, so editing it in place sticks.
            document = super().openapi()
            document_problems(document)
            document_conventions(document, self.idempotency_exempt)
        return super().openapi()
