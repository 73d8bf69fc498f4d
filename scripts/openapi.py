"""Write (or check) the OpenAPI 3.1 document of the whole API, from the route tables.

Everything comes from the declarations the pipeline enforces (shared.http.Route): method
and path, the access rule (security and the permission, as ``x-pmi-access``), the body and
query models (pydantic's JSON Schema), the response models, and the statuses. The statuses
every operation can answer are derived the way the pipeline answers them, so they cannot
drift from it:

* 401 on every route that needs sign-in; 403 where some role lacks the permission;
* 400 (malformed JSON, empty or too deep), 413 and 415 where a body is read; 422 where a
  body or a query string is validated;
* 404 where the path names an object (a path parameter);
* 429 (with Retry-After) on every rate-limited route, whose answers carry RateLimit-*;
* 503 (with Retry-After when retrying helps) on every route: a backend outage, a request
  deadline or a contended transaction;
* and what a route declares itself (``responses=``: 409, a handler's own 401/403, another
  success such as 207), with the error codes it names.

Links for stateful testing and clients are derived too: a 201 whose body has an ``id``
links to every operation under ``<that path>/{param}``.

    python scripts/openapi.py           # write hosting/api/openapi.json (make openapi)
    python scripts/openapi.py --check   # exit 1 when the file is stale (tests do this)

Hosting serves the file at /api/openapi.json and the viewer at /api/docs.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from pydantic import BaseModel  # noqa: E402
from pydantic.json_schema import models_json_schema  # noqa: E402
from route_table import load_app  # noqa: E402

from shared import __version__  # noqa: E402
from shared.auth.rbac import Role  # noqa: E402
from shared.functions import FUNCTION_NAMES  # noqa: E402
from shared.http import App, Route  # noqa: E402
from shared.ids import ID_REGEX  # noqa: E402
from shared.responses import ErrorEnvelope  # noqa: E402

OUTPUT = ROOT / "hosting" / "api" / "openapi.json"
SCHEMA_REF = "#/components/schemas/{model}"
# Werkzeug rule parameters: <name> or <converter:name>.
PATH_PARAMETER = re.compile(r"<(?:(?P<converter>[a-z]+):)?(?P<name>[a-z_]+)>")
# What each router converter accepts (shared.ids), as JSON Schema patterns without the
# look-aheads the router adds (reserved names answer 404 like any unknown id).
CONVERTER_PATTERNS = {None: f"^{ID_REGEX}$", "opaque": "^[A-Za-z0-9_-]{1,512}$"}

DESCRIPTION = """\
The PMI platform's HTTP API: accounts and sessions (`auth`), vehicles, telemetry and
health (`vehicles`), service centers and bookings (`bookings`), and probes (`monitoring`).

**Paths.** Every path is given as Firebase Hosting forwards it, `/api/<function>/...`. Each
function also answers on its own Cloud Functions URL without that prefix (the operation's
`x-pmi-function-path`).

**Signing in.** `POST /api/auth/login` answers an `access_token`; send it as
`Authorization: Bearer <access_token>`. It expires after `expires_in` seconds: exchange the
`refresh_token` at `POST /api/auth/refresh` (each refresh token works once). Each operation
names the permission it needs (`x-pmi-access`) and the roles that hold it (`x-pmi-roles`).

**Errors.** Every error has one shape, `{"error": {"code", "message", "request_id",
"details"}}`; branch on `code` (docs/api.md lists every code and what to do about it). Bodies
and query strings refuse unknown fields (422, one `details` entry per field), except the
fields of a telemetry reading, which are accepted and listed in `ignored_fields`.

**Limits.** Answers of rate-limited operations carry `RateLimit-Limit`, `RateLimit-Remaining`,
`RateLimit-Reset` and `RateLimit-Policy`; a 429 carries `Retry-After`. A 503 means a backing
service was unavailable or too slow (the request deadline) or a transaction lost to
concurrent writers: nothing was written, and the same request may be sent again after
`Retry-After`. Creating a booking honours `Idempotency-Key`: a retry with the same key
answers the first response instead of booking twice.
"""

# Reasons the pipeline itself gives, per status (what a client reads in docs and viewers).
DERIVED_REASONS = {
    400: "malformed_json, empty_body or too_deep: the body is not usable JSON",
    401: "unauthenticated (no token), invalid_token, session_revoked or account_disabled",
    403: "forbidden: the caller's role does not hold the permission",
    404: "not_found: no such object, or not one the caller may see",
    413: "payload_too_large: the body is over the size limit",
    415: "unsupported_media_type: send the body as application/json",
    422: "validation_failed: one details entry per invalid field",
    429: "rate_limited (or too_many_attempts on sign-in): wait Retry-After seconds",
    503: "unavailable, deadline_exceeded, contention or rate_limit_unavailable: retry after "
    "Retry-After",
}
# Names of the shared error responses (components/responses).
ERROR_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "ValidationFailed",
    429: "TooManyRequests",
    503: "ServiceUnavailable",
}
STATUS_TITLES = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No content",
    207: "Multi-status: some items were refused",
}


def openapi_path(route_path: str) -> str:
    return PATH_PARAMETER.sub(lambda m: "{" + m["name"] + "}", route_path)


def hosting_path(app: App, route: Route) -> str:
    return app.prefix + ("" if route.path == "/" else openapi_path(route.path))


def operation_id(app: App, route: Route) -> str:
    return f"{app.name}_{getattr(route.handler, '__name__', 'handler')}"


# --------------------------------------------------------------------------- schemas


def collect_schemas(apps: Iterable[App]) -> tuple[dict[Any, Any], dict[str, Any]]:
    """One JSON Schema per model of every route, named consistently across the API."""
    inputs: list[tuple[type[BaseModel], Any]] = [(ErrorEnvelope, "serialization")]
    for app in apps:
        for route in app.routes:
            for model in (route.body, route.query):
                if model is not None:
                    inputs.append((model, "validation"))
            for model in _response_models(route):
                inputs.append((model, "serialization"))
    unique = list(dict.fromkeys(inputs))
    refs, top = models_json_schema(unique, ref_template=SCHEMA_REF)
    return refs, top.get("$defs", {})


def _response_models(route: Route) -> list[type[BaseModel]]:
    models = [route.response_model] if route.response_model is not None else []
    models += [m for m in route.responses.values() if isinstance(m, type)]
    return models


def _ref(refs: dict[Any, Any], model: type[BaseModel], mode: str) -> dict[str, Any]:
    return dict(refs[(model, mode)])


def _resolve(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
        return dict(definitions[ref.rsplit("/", 1)[1]])
    return schema


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema: absent already means null, so drop the null branch."""
    if "default" in schema and schema["default"] is None:
        schema = {k: v for k, v in schema.items() if k != "default"}
    options = schema.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if o.get("type") != "null"]
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        if len(kept) == 1:
            return {**kept[0], **rest}
        return {**rest, "anyOf": kept}
    return schema


# --------------------------------------------------------------------------- operations


def statuses(route: Route) -> dict[int, str]:
    """Every error status ``route`` can answer, with the reasons (see the module docstring)."""
    reasons: dict[int, list[str]] = {}

    def add(status: int, reason: str) -> None:
        reasons.setdefault(status, []).append(reason)

    if not route.access.public:
        add(401, DERIVED_REASONS[401])
        if not all(route.access.allows(role) for role in Role):
            add(403, DERIVED_REASONS[403])
    if route.body is not None:
        for status in (400, 413, 415):
            add(status, DERIVED_REASONS[status])
    if route.body is not None or route.query is not None:
        add(422, DERIVED_REASONS[422])
    if PATH_PARAMETER.search(route.path):
        add(404, DERIVED_REASONS[404])
    if route.rate_limited:
        add(429, DERIVED_REASONS[429])
    add(503, DERIVED_REASONS[503])
    for status, declared in route.responses.items():
        if isinstance(declared, str):
            add(status, declared)
    return {status: "; ".join(reasons[status]) for status in sorted(reasons)}


def _header(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def success_headers(route: Route) -> dict[str, Any]:
    headers = {"X-Request-ID": _header("X-Request-ID")}
    if route.rate_limited:
        for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
            headers[name] = _header(name)
    if route.idempotency_key:
        headers["Idempotent-Replayed"] = _header("Idempotent-Replayed")
    return headers


def error_headers(status: int) -> dict[str, Any]:
    headers = {"X-Request-ID": _header("X-Request-ID")}
    if status == 401:
        headers["WWW-Authenticate"] = _header("WWW-Authenticate")
    # 409: only idempotency_in_progress carries it (retry the same request after it).
    if status in (409, 429, 503):
        headers["Retry-After"] = _header("Retry-After")
    return headers


def responses_of(route: Route, refs: dict[Any, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    successes: dict[int, type[BaseModel] | None] = {route.status: route.response_model}
    for status, declared in route.responses.items():
        if isinstance(declared, type):
            successes[status] = declared
    for status in sorted(successes):
        model = successes[status]
        answer: dict[str, Any] = {
            "description": STATUS_TITLES.get(status, "Success"),
            "headers": success_headers(route),
        }
        if model is not None and status != 204:
            first_line = (model.__doc__ or "").strip().split("\n")[0]
            answer["description"] = f"{answer['description']}. {first_line}".rstrip(". ")
            answer["content"] = {"application/json": {"schema": _ref(refs, model, "serialization")}}
        answers[str(status)] = answer
    for status, reasons in statuses(route).items():
        if reasons == DERIVED_REASONS.get(status):
            # The pipeline's own answer, the same on every route: one shared definition.
            answers[str(status)] = {"$ref": f"#/components/responses/{ERROR_NAMES[status]}"}
        else:
            answers[str(status)] = error_response(status, reasons)
    return answers


def error_response(status: int, reasons: str) -> dict[str, Any]:
    return {
        "description": reasons,
        "headers": error_headers(status),
        "content": {
            "application/json": {"schema": {"$ref": SCHEMA_REF.format(model="ErrorEnvelope")}}
        },
    }


def parameters_of(route: Route, refs: dict[Any, Any], definitions: dict[str, Any]) -> list[Any]:
    parameters: list[Any] = []
    for match in PATH_PARAMETER.finditer(route.path):
        parameters.append(
            {
                "name": match["name"],
                "in": "path",
                "required": True,
                "schema": {"type": "string", "pattern": CONVERTER_PATTERNS[match["converter"]]},
            }
        )
    if route.query is not None:
        schema = _resolve(_ref(refs, route.query, "validation"), definitions)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            entry: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": _without_null(prop),
            }
            if "description" in prop:
                entry["description"] = prop["description"]
            parameters.append(entry)
    if route.idempotency_key:
        parameters.append({"$ref": "#/components/parameters/IdempotencyKey"})
    return parameters


def access_description(route: Route) -> tuple[str, list[str]]:
    roles = sorted(role.value for role in Role if route.access.allows(role))
    if route.access.public:
        return "public", roles
    return route.access.describe(), roles


def operation(app: App, route: Route, refs: dict[Any, Any], definitions: dict[str, Any]) -> Any:
    access, roles = access_description(route)
    doc = (route.handler.__doc__ or "").strip()
    summary = doc.split("\n")[0]
    description = f"**Access:** {access}"
    if not route.access.public:
        description += f" (roles: {', '.join(roles)})"
    description += "."
    if route.idempotency_key:
        description += " Honours `Idempotency-Key`."
    entry: dict[str, Any] = {
        "operationId": operation_id(app, route),
        "tags": [app.name],
        "summary": summary,
        "description": description,
        "security": [] if route.access.public else [{"bearerAuth": []}],
        "x-pmi-access": access,
        "x-pmi-roles": roles,
        "x-pmi-function": app.name,
        "x-pmi-function-path": openapi_path(route.path),
        "parameters": parameters_of(route, refs, definitions),
    }
    if not entry["parameters"]:
        del entry["parameters"]
    if route.body is not None:
        entry["requestBody"] = {
            "required": not route.body_optional,
            "content": {"application/json": {"schema": _ref(refs, route.body, "validation")}},
        }
    entry["responses"] = responses_of(route, refs, definitions)
    return entry


def add_links(paths: dict[str, Any], definitions: dict[str, Any]) -> None:
    """A 201 whose body has an ``id`` links to the operations on ``<path>/{param}``."""
    for path, methods in paths.items():
        created = methods.get("post", {}).get("responses", {}).get("201")
        if created is None:
            continue
        schema = created.get("content", {}).get("application/json", {}).get("schema", {})
        if "id" not in _resolve(schema, definitions).get("properties", {}):
            continue
        child = re.compile(re.escape(path) + r"/\{(?P<param>[a-z_]+)\}(?:/[^{}]*)?$")
        links: dict[str, Any] = {}
        for other, other_methods in paths.items():
            match = child.fullmatch(other)
            if match is None:
                continue
            for op in other_methods.values():
                links[op["operationId"]] = {
                    "operationId": op["operationId"],
                    "parameters": {match["param"]: "$response.body#/id"},
                }
        if links:
            created["links"] = links


def components(definitions: dict[str, Any]) -> dict[str, Any]:
    integer = {"type": "integer", "minimum": 0}
    return {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "The access_token from POST /api/auth/login (or /refresh).",
            }
        },
        "parameters": {
            "IdempotencyKey": {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": (
                    "Any 1..255 printable characters, new for each booking the client means "
                    "to make: a retry with the same key and body answers the first response "
                    "(Idempotent-Replayed: true) instead of booking twice; the same key with "
                    "another body is 422 idempotency_key_reused. Kept for 24 hours."
                ),
                "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
            }
        },
        "headers": {
            "X-Request-ID": {
                "description": "This request's id (also in error bodies and the logs).",
                "schema": {"type": "string"},
            },
            "RateLimit-Limit": {
                "description": "Requests the client may burst (the bucket size).",
                "schema": integer,
            },
            "RateLimit-Remaining": {
                "description": "Requests left in the bucket now.",
                "schema": integer,
            },
            "RateLimit-Reset": {
                "description": "Seconds until the bucket is full again.",
                "schema": integer,
            },
            "Retry-After": {
                "description": "Seconds to wait before sending the request again.",
                "schema": integer,
            },
            "WWW-Authenticate": {
                "description": 'Bearer realm="pmi" (RFC 6750).',
                "schema": {"type": "string"},
            },
            "Idempotent-Replayed": {
                "description": "true when this is the stored answer to an earlier request "
                "with the same Idempotency-Key.",
                "schema": {"type": "string", "enum": ["true"]},
            },
        },
        "responses": {
            ERROR_NAMES[status]: error_response(status, reason)
            for status, reason in sorted(DERIVED_REASONS.items())
        },
        "schemas": definitions,
    }


def build(apps: list[App] | None = None) -> dict[str, Any]:
    apps = apps if apps is not None else [load_app(name) for name in FUNCTION_NAMES]  # type: ignore[misc]
    refs, definitions = collect_schemas(apps)
    paths: dict[str, Any] = {}
    for app in apps:
        for route in app.routes:
            methods = paths.setdefault(hosting_path(app, route), {})
            methods[route.method.lower()] = operation(app, route, refs, definitions)
    add_links(paths, definitions)
    used = _referenced(paths, definitions)
    definitions = {name: schema for name, schema in definitions.items() if name in used}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "PMI API",
            "version": __version__,
            "description": DESCRIPTION,
        },
        "servers": [{"url": "/", "description": "The Hosting site (or make dev's gateway)"}],
        "tags": [{"name": app.name, "description": _tag(app.name)} for app in apps],
        "paths": paths,
        "components": components(definitions),
    }


def _referenced(paths: dict[str, Any], definitions: dict[str, Any]) -> set[str]:
    """Schemas the operations use, directly or through other schemas (query models are
    spelled out as parameters, so theirs drop out)."""
    pattern = re.compile(r'"#/components/schemas/([^"]+)"')
    found: set[str] = set()
    pending = set(pattern.findall(json.dumps(paths))) | {"ErrorEnvelope"}
    while pending:
        name = pending.pop()
        if name in found or name not in definitions:
            continue
        found.add(name)
        pending |= set(pattern.findall(json.dumps(definitions[name])))
    return found


def _tag(name: str) -> str:
    return {
        "auth": "Accounts, sign-in, sessions and user administration.",
        "vehicles": "Vehicles, telemetry, service records, health and alerts.",
        "bookings": "Service centers, availability, bookings and suggestions.",
        "monitoring": "Liveness, readiness and health details.",
    }.get(name, name)


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write or check hosting/api/openapi.json.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = render(build())
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
