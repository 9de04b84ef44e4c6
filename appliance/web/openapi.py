"""The one way the OpenAPI document is made: each /api/v1/ route is declared with
`api_route`, which registers the Flask route and its description together."""

from __future__ import annotations

import re
from typing import Any, Callable

from flask import Blueprint

import appliance


class ApiSpec:
    """Operations declared on one blueprint, rendered as an OpenAPI 3.1 document."""

    def __init__(self, blueprint: Blueprint, title: str) -> None:
        self.blueprint = blueprint
        self.title = title
        self.paths: dict[str, dict[str, Any]] = {}
        self.schemas: dict[str, Any] = {}

    def route(
        self,
        rule: str,
        method: str,
        summary: str,
        responses: dict[int, str],
        parameters: list[dict[str, Any]] | None = None,
        body: str | None = None,
        public: bool = False,
    ) -> Callable:
        """Register a route on the blueprint and describe it in the document."""

        def decorator(view: Callable) -> Callable:
            self.blueprint.add_url_rule(rule, view_func=view, methods=[method])
            path = flask_rule_to_openapi(self.blueprint.url_prefix + rule)
            path_params = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
                for name in re.findall(r"\{(\w+)\}", path)
            ]
            operation: dict[str, Any] = {
                "summary": summary,
                "operationId": view.__name__,
                "parameters": path_params + (parameters or []),
                "responses": {
                    str(code): _response(description, code) for code, description in responses.items()
                },
            }
            if body:
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
                }
            if public:
                operation["security"] = []
            self.paths.setdefault(path, {})[method.lower()] = operation
            return view

        return decorator

    def document(self) -> dict[str, Any]:
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": appliance.__version__},
            "servers": [{"url": "/"}],
            "security": [{"bearerToken": []}],
            "paths": self.paths,
            "components": {
                "securitySchemes": {
                    "bearerToken": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "A token made with `epn token add --name NAME`.",
                    }
                },
                "schemas": {**ERROR_SCHEMA, **self.schemas},
            },
        }


ERROR_SCHEMA = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {"error": {"type": "integer"}, "message": {"type": "string"}},
    }
}


def _response(description: str, code: int) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Error"} if code >= 400 else {"type": "object"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def flask_rule_to_openapi(rule: str) -> str:
    """`/api/v1/visits/<int:visit_id>` -> `/api/v1/visits/{visit_id}`."""
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)
