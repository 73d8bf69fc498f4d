"""Write (or check) docs/api.md and the API-client collection, from the OpenAPI document.

Both are generated from hosting/api/openapi.json (itself generated from the route tables by
scripts/openapi.py), so neither can drift from the code:

* docs/api.md — how to call the API, one table of every error code with what a client should
  do about it, and every endpoint with its access, inputs, answers and a curl example;
* docs/pmi.postman_collection.json — a Postman collection (format v2.1, also imported by
  Insomnia, Bruno and others): one request per operation, the base URL and token as
  variables, and the sign-in request storing the token it receives.

The error-code table's advice is written here by hand (ERROR_CODES); tests/test_api_docs.py
fails when a code raised anywhere in the code base is missing from it, or it lists one that
no longer exists.

    python scripts/api_docs.py           # write both (make openapi)
    python scripts/api_docs.py --check   # exit 1 when either is stale
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "hosting" / "api" / "openapi.json"
API_DOC = ROOT / "docs" / "api.md"
COLLECTION = ROOT / "docs" / "pmi.postman_collection.json"
POSTMAN_SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
LOCAL_BASE_URL = "http://127.0.0.1:5000"

# code -> (status, what it means, what a client should do). Every code the API can send.
ERROR_CODES: dict[str, tuple[int, str, str]] = {
    # --- the request itself
    "bad_request": (400, "The request is malformed.", "Fix the request; do not retry as is."),
    "malformed_json": (400, "The body is not valid JSON.", "Send valid JSON."),
    "empty_body": (400, "The body is empty.", "Send a JSON object."),
    "missing_body": (400, "The route needs a JSON body.", "Send a JSON object."),
    "too_deep": (400, "The JSON nests too deep.", "Flatten the body; do not retry as is."),
    "payload_too_large": (413, "The body is over the size limit.", "Send less (smaller batch)."),
    "unsupported_media_type": (415, "The body is not JSON.", "Set Content-Type: application/json."),
    "validation_failed": (
        422,
        "Fields are invalid; `details` has one entry per field (field, location, message).",
        "Show each detail next to its field; fix and resend.",
    ),
    "method_not_allowed": (405, "The path exists, the method does not.", "Use a method in Allow."),
    "not_found": (
        404,
        "No such object, or not one the caller may see (the same answer, on purpose).",
        "Refresh the list you took the id from; do not retry.",
    ),
    # --- identity and access
    "unauthenticated": (401, "No access token was sent.", "Sign in; send Authorization: Bearer."),
    "invalid_token": (
        401,
        "The token is invalid, expired, or its account is gone.",
        "Refresh once with the refresh token; if that fails, sign in again.",
    ),
    "session_revoked": (
        401,
        "The session was ended (sign-out elsewhere, password change, admin).",
        "Drop stored tokens and sign in again.",
    ),
    "account_disabled": (401, "The account is deactivated.", "Tell the user; contact an admin."),
    "refresh_reused": (
        401,
        "A refresh token was used twice; the session is revoked (possible theft).",
        "Drop stored tokens and sign in again; never reuse a refresh token.",
    ),
    "invalid_credentials": (
        401,
        "Wrong email or password, or the address is not confirmed yet.",
        "Let the user retry; offer confirming the address.",
    ),
    "invalid_confirmation": (
        400,
        "The confirmation code is wrong, used or expired.",
        "Register again to get a new code.",
    ),
    "too_many_attempts": (
        429,
        "Too many sign-in attempts for this account or network.",
        "Wait Retry-After seconds before the next attempt.",
    ),
    "weak_password": (422, "The new password fails the policy.", "Ask for another password."),
    "wrong_password": (403, "current_password is not the account's.", "Let the user retry."),
    "forbidden": (403, "The caller's role lacks the permission.", "Do not retry; hide the action."),
    "cors_origin_denied": (
        403,
        "A browser on an origin not in PMI_CORS_ORIGINS made a preflight.",
        "Serve the app from an allowed origin (operators: PMI_CORS_ORIGINS).",
    ),
    "email_taken": (
        409,
        "An account with this email exists (admin tooling and the demo seeder only).",
        "Use the existing account.",
    ),
    "self_lockout": (
        422,
        "An admin tried to demote or deactivate themselves.",
        "Ask another admin to do it.",
    ),
    "service_center_required": (
        422,
        "Staff roles need a service_center_id.",
        "Send service_center_id with the role.",
    ),
    # --- vehicles
    "vin_already_yours": (
        409,
        "The caller has registered this VIN already.",
        "Use the existing vehicle; do not retry.",
    ),
    "too_many_vin_claims": (
        409,
        "The caller's VIN claims waiting for review reached the cap (a VIN registered "
        "already becomes a claim, 202).",
        "Wait for an admin to resolve the pending claims (GET /api/vehicles/vin-claims).",
    ),
    "claim_not_pending": (
        409,
        "The VIN claim was approved or rejected already.",
        "Reload the claims; do not retry.",
    ),
    "not_a_decrease": (
        422,
        "A mileage correction must lower the mileage.",
        "Raise a mileage with PATCH /api/vehicles/{id}.",
    ),
    "below_odometer": (
        422,
        "The corrected mileage is below the vehicle's own odometer reading.",
        "Check the figure; the car has driven at least that far.",
    ),
    "too_many_records": (
        409,
        "Too many service records lie above the corrected mileage.",
        "Ask an admin to correct the records.",
    ),
    "implausible_mileage": (
        422,
        "The service's mileage is not plausible for the vehicle (a jump no driving explains).",
        "Check the odometer figure; fix and resend.",
    ),
    "foreign_center": (
        422,
        "A service record names a center other than the writer's own.",
        "Leave center_id out, or send your own center's.",
    ),
    # --- bookings
    "slot_full": (409, "The slot has no free bay any more.", "Reload availability; pick another."),
    "active_booking_limit": (
        409,
        "The customer holds the maximum of active bookings.",
        "Cancel or finish one first.",
    ),
    "illegal_transition": (
        409,
        "The booking's state does not allow this action (e.g. cancelling a completed one).",
        "Reload the booking; show its current state.",
    ),
    "action_forbidden": (
        403,
        "The caller's relation to this booking does not allow the action.",
        "Do not retry; hide the action for this booking.",
    ),
    "unknown_mechanic": (422, "That user is not a mechanic of the center.", "Pick a listed one."),
    "unknown_service": (422, "The center does not offer that service.", "Use one of its services."),
    "invalid_location": (422, "Only one of lat/lng was sent.", "Send both or neither."),
    "invalid_range": (422, "`from` is not before `to`.", "Swap or fix the dates."),
    "center_required": (
        422,
        "A booking listing by date needs center_id (a day is the center's day).",
        "Send center_id with date.",
    ),
    "suggestion_stale": (
        409,
        "The suggested slot can no longer be booked.",
        "Fetch fresh suggestions.",
    ),
    "invalid_idempotency_key": (
        400,
        "Idempotency-Key is not 1..255 printable characters.",
        "Send a UUID as the key.",
    ),
    "idempotency_key_reused": (
        422,
        "This Idempotency-Key was used with a different body.",
        "Use a new key for a new booking.",
    ),
    "idempotency_in_progress": (
        409,
        "The first request with this key is still running.",
        "Retry the same request after Retry-After.",
    ),
    "invalid_duration": (422, "The service's duration does not fit the grid.", "Fix the center."),
    "invalid_date": (422, "The date is not YYYY-MM-DD.", "Send an ISO date."),
    "invalid_datetime": (422, "The start is not ISO 8601.", "Send e.g. 2026-12-03T09:00:00+01:00."),
    "naive_datetime": (422, "The start has no offset.", "Add the offset (or Z)."),
    "nonexistent_local_time": (
        422,
        "The local time does not exist (skipped by a daylight-saving change).",
        "Pick another time.",
    ),
    "in_past": (422, "The start is in the past.", "Pick a future slot."),
    "beyond_horizon": (422, "The start is too far ahead.", "Pick an earlier date."),
    "outside_opening_hours": (422, "The center is closed then.", "Use availability's slots."),
    "ends_after_closing": (422, "The service would end after closing.", "Pick an earlier slot."),
    "not_a_slot_start": (422, "The start is off the slot grid.", "Use availability's slots."),
    # --- capacity and availability of the platform
    "rate_limited": (429, "Too many requests from this client.", "Wait Retry-After seconds."),
    "unavailable": (
        503,
        "A backing service is down or too slow; nothing was written.",
        "Retry after Retry-After (with back-off).",
    ),
    "deadline_exceeded": (
        503,
        "The database did not answer within the request deadline; nothing is half-written, "
        "but a write may have been applied just before the cut.",
        "Retry after Retry-After (with back-off); a booking retry reuses its Idempotency-Key.",
    ),
    "contention": (
        503,
        "Concurrent writers won every retry; nothing was written.",
        "Retry the same request after Retry-After.",
    ),
    "rate_limit_unavailable": (
        503,
        "The rate limiter's store is unreachable on a route that fails closed.",
        "Retry after a short wait.",
    ),
    "not_ready": (503, "Readiness: Firestore does not answer.", "Probes: route traffic elsewhere."),
    "conflict": (409, "The request conflicts with current state.", "Reload, then decide."),
    "internal": (
        500,
        "A bug: the server failed unexpectedly (the cause is only in the logs).",
        "Report it with request_id; retrying may not help.",
    ),
    # --- only from the local dev gateway (scripts/gateway.py), never from Hosting itself
    "bad_gateway": (502, "make dev: a function is unreachable.", "Check make dev's output."),
    "gateway_timeout": (504, "make dev: a function took over 60 s.", "Check the function's log."),
}

PLACEHOLDER_DATETIME = "2026-12-03T09:00:00+01:00"


# --------------------------------------------------------------------------- examples


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def example(spec: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """A plausible value for ``schema``: its own example, else one built from its type."""
    schema = resolve(spec, schema)
    if schema.get("examples"):
        return schema["examples"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if "anyOf" in schema:
        options = [o for o in schema["anyOf"] if o.get("type") != "null"]
        return example(spec, options[0], depth) if options else None
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return {}
        required = schema.get("required", [])
        return {
            name: example(spec, prop, depth + 1)
            for name, prop in schema.get("properties", {}).items()
            if name in required
        }
    if kind == "array":
        count = schema.get("minItems", 0)
        return [example(spec, schema.get("items", {}), depth + 1) for _ in range(max(count, 0))]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.0))
    if kind == "boolean":
        return False
    if schema.get("format") == "date-time":
        return PLACEHOLDER_DATETIME
    if schema.get("format") == "date":
        return PLACEHOLDER_DATETIME[:10]
    return "string"


def body_example(spec: dict[str, Any], operation: dict[str, Any]) -> Any | None:
    body = operation.get("requestBody")
    if body is None:
        return None
    schema = body["content"]["application/json"]["schema"]
    resolved = resolve(spec, schema)
    if resolved.get("examples"):
        return resolved["examples"][0]
    return example(spec, schema)


def shell_variable(name: str) -> str:
    return "$" + name.upper()


def curl(spec: dict[str, Any], path: str, method: str, operation: dict[str, Any]) -> str:
    url_path = re.sub(r"\{([a-z_]+)\}", lambda m: shell_variable(m[1]), path)
    query = [
        f"{p['name']}={example(spec, p['schema'])}"
        for p in operation.get("parameters", [])
        if p.get("in") == "query" and p.get("required")
    ]
    url = "$PMI" + url_path + ("?" + "&".join(query) if query else "")
    lines = [f'curl -s -X {method.upper()} "{url}"']
    if operation.get("security"):
        lines.append('-H "Authorization: Bearer $TOKEN"')
    if any(p.get("$ref", "").endswith("IdempotencyKey") for p in operation.get("parameters", [])):
        lines.append('-H "Idempotency-Key: $(uuidgen)"')
    body = body_example(spec, operation)
    if body is not None:
        lines.append("-H 'Content-Type: application/json'")
        lines.append(f"-d '{json.dumps(body)}'")
    return " \\\n  ".join(lines)


# --------------------------------------------------------------------------- markdown


def _type_of(spec: dict[str, Any], schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[1]
    if "anyOf" in schema:
        return " or ".join(_type_of(spec, s) for s in schema["anyOf"])
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type_of(spec, schema.get('items', {}))}"
    if schema.get("format"):
        return f"{kind} ({schema['format']})"
    return str(kind)


def _constraints(schema: dict[str, Any]) -> str:
    schemas = [schema, *schema.get("anyOf", [])]
    parts = []
    for s in schemas:
        for key, label in (
            ("minimum", ">="),
            ("maximum", "<="),
            ("minLength", "min length"),
            ("maxLength", "max length"),
            ("minItems", "min items"),
            ("maxItems", "max items"),
            ("pattern", "pattern"),
        ):
            if key in s:
                value = f"`{s[key]}`" if key == "pattern" else s[key]
                parts.append(f"{label} {value}")
    return ", ".join(parts)


REF = "#/components/schemas/"


def nested_models(spec: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Models a body refers to (its readings, services, ...), each listed once, in order."""
    found: list[str] = []

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(REF):
                name = ref[len(REF) :]
                if name not in found:
                    found.append(name)
                    visit(spec["components"]["schemas"][name])
                return
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(resolve(spec, schema))
    return found


def fields_table(spec: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    resolved = resolve(spec, schema)
    required = set(resolved.get("required", []))
    rows = ["| field | type | required | notes |", "|---|---|---|---|"]
    for name, prop in resolved.get("properties", {}).items():
        notes = " ".join(
            x
            for x in (
                prop.get("description", "").replace("\n", " "),
                _constraints(prop),
                f"default `{json.dumps(prop['default'])}`"
                if "default" in prop and prop["default"] not in (None, [], "")
                else "",
            )
            if x
        ).replace("|", "\\|")
        rows.append(
            f"| `{name}` | {_type_of(spec, prop)} | {'yes' if name in required else ''} | {notes} |"
        )
    return rows


def error_table() -> list[str]:
    rows = [
        "| code | status | meaning | what the client should do |",
        "|---|---|---|---|",
    ]
    for code, (status, meaning, action) in sorted(
        ERROR_CODES.items(), key=lambda i: (i[1][0], i[0])
    ):
        rows.append(f"| `{code}` | {status} | {meaning} | {action} |")
    return rows


def render_markdown(spec: dict[str, Any]) -> str:
    lines = [
        "# API reference",
        "",
        "Generated from the OpenAPI document (`hosting/api/openapi.json`, itself generated from",
        "the route tables) by `scripts/api_docs.py`; do not edit: run `make openapi`.",
        "",
        "- **Interactive**: `/api/docs` on the Hosting site (`make dev`:",
        f"  {LOCAL_BASE_URL}/api/docs) shows every operation and lets you try it.",
        "- **Machine-readable**: `/api/openapi.json` (OpenAPI 3.1).",
        "- **API clients**: import `docs/pmi.postman_collection.json` into Postman, Insomnia",
        "  or Bruno; set `baseUrl`, send *Sign in* once (it stores `accessToken`).",
        "",
        "## Calling the API",
        "",
        "```bash",
        f"export PMI={LOCAL_BASE_URL}   # or your Hosting URL",
        "TOKEN=$(curl -s $PMI/api/auth/login -H 'Content-Type: application/json' \\",
        '  -d \'{"email":"customer@demo.pmi.dev","password":"pmi-demo-garage-2026"}\' \\',
        "  | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')",
        'curl -s "$PMI/api/vehicles" -H "Authorization: Bearer $TOKEN"',
        "```",
        "",
        "The examples below use `$PMI`, `$TOKEN` and one shell variable per path parameter",
        "(`$VEHICLE_ID`, ...). Their bodies hold the required fields only.",
        "",
        "- Send and receive JSON (`Content-Type: application/json`); times are ISO 8601 with",
        "  an offset. Unknown body fields and query parameters are refused (422), except the",
        "  fields of a telemetry reading, which are accepted, not stored, and named in the",
        "  answer's `ignored_fields` (so `fault_codes` sent for `dtc_codes` shows up there).",
        "- Listings are cursor-paginated: `limit` (default 20, at most 100) and `cursor`, the",
        "  previous page's `next_cursor` (`null` on the last page).",
        "- Rate-limited answers carry `RateLimit-Limit`, `RateLimit-Remaining`,",
        "  `RateLimit-Reset`; a 429 carries `Retry-After`.",
        "- A 503 means nothing was written: a backend was down or slower than the request",
        "  deadline, or concurrent writers won. Retry after `Retry-After`, with back-off.",
        "- `POST /api/bookings` and accepting a suggestion honour `Idempotency-Key`: send a new",
        "  UUID per booking and the same one on retries; a retry answers the first response.",
        "",
        "## Errors",
        "",
        "Every error has one shape; branch on `code`, show `message`, quote `request_id`:",
        "",
        "```json",
        '{"error": {"code": "validation_failed", "message": "Some fields are not valid.",',
        ' "request_id": "5f0c…", "details": [{"field": "year", "location": "body",',
        '  "message": "Input should be greater than or equal to 1981",',
        '  "type": "greater_than_equal"}]}}',
        "```",
        "",
        *error_table(),
        "",
        "## Endpoints",
        "",
    ]
    for tag in spec.get("tags", []):
        lines += [f"### {tag['name']}", "", tag.get("description", ""), ""]
        for path, methods in spec["paths"].items():
            for method, operation in methods.items():
                if tag["name"] not in operation.get("tags", []):
                    continue
                lines += render_operation(spec, path, method, operation)
    return "\n".join(lines).rstrip() + "\n"


def render_operation(
    spec: dict[str, Any], path: str, method: str, operation: dict[str, Any]
) -> list[str]:
    lines = [
        f"#### `{method.upper()} {path}`",
        "",
        operation.get("summary", ""),
        "",
        f"Access: {operation['x-pmi-access']}"
        + (f" (roles: {', '.join(operation['x-pmi-roles'])})" if operation.get("security") else "")
        + ".",
        "",
    ]
    parameters = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
    if parameters:
        lines += [
            "Query parameters:",
            "",
            "| name | type | required | notes |",
            "|---|---|---|---|",
        ]
        for p in parameters:
            notes = " ".join(
                x for x in (p.get("description", ""), _constraints(p["schema"])) if x
            ).replace("|", "\\|")
            lines.append(
                f"| `{p['name']}` | {_type_of(spec, p['schema'])} "
                f"| {'yes' if p.get('required') else ''} | {notes} |"
            )
        lines.append("")
    body = operation.get("requestBody")
    if body is not None:
        schema = body["content"]["application/json"]["schema"]
        optional = "" if body.get("required") else " (optional: no body means all defaults)"
        lines += [
            f"Body `{_type_of(spec, schema)}`{optional}:",
            "",
            *fields_table(spec, schema),
            "",
        ]
        for name in nested_models(spec, schema):
            lines += [f"`{name}`:", "", *fields_table(spec, {"$ref": REF + name}), ""]
    lines += ["Answers:", ""]
    for status, answer in operation["responses"].items():
        if "$ref" in answer:
            answer = spec["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        shape = f" `{_type_of(spec, schema)}`" if schema else ""
        lines.append(f"- **{status}**{shape} — {answer['description']}")
    lines += ["", "```bash", curl(spec, path, method, operation), "```", ""]
    return lines


# --------------------------------------------------------------------------- collection


def collection(spec: dict[str, Any]) -> dict[str, Any]:
    folders = []
    for tag in spec.get("tags", []):
        items = []
        for path, methods in spec["paths"].items():
            for method, operation in methods.items():
                if tag["name"] in operation.get("tags", []):
                    items.append(collection_item(spec, path, method, operation))
        folders.append(
            {"name": tag["name"], "description": tag.get("description", ""), "item": items}
        )
    return {
        "info": {
            "name": spec["info"]["title"],
            "description": (
                "Generated from the OpenAPI document by scripts/api_docs.py (make openapi). "
                "Set baseUrl, then send auth / Sign in: it stores accessToken for the rest."
            ),
            "version": spec["info"]["version"],
            "schema": POSTMAN_SCHEMA,
        },
        "auth": {
            "type": "bearer",
            "bearer": [{"key": "token", "value": "{{accessToken}}", "type": "string"}],
        },
        "variable": [
            {"key": "baseUrl", "value": LOCAL_BASE_URL, "type": "string"},
            {"key": "accessToken", "value": "", "type": "string"},
            {"key": "refreshToken", "value": "", "type": "string"},
        ],
        "item": folders,
    }


def collection_item(
    spec: dict[str, Any], path: str, method: str, operation: dict[str, Any]
) -> dict[str, Any]:
    segments = [
        re.sub(r"^\{([a-z_]+)\}$", r":\1", segment) for segment in path.strip("/").split("/")
    ]
    url: dict[str, Any] = {
        "raw": "{{baseUrl}}/" + "/".join(segments),
        "host": ["{{baseUrl}}"],
        "path": segments,
    }
    path_variables = [s[1:] for s in segments if s.startswith(":")]
    if path_variables:
        url["variable"] = [{"key": name, "value": ""} for name in path_variables]
    query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
    if query:
        url["query"] = [
            {
                "key": p["name"],
                "value": str(example(spec, p["schema"])),
                "description": p.get("description", ""),
                "disabled": not p.get("required", False),
            }
            for p in query
        ]
    headers: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "method": method.upper(),
        "header": headers,
        "url": url,
        "description": f"{operation.get('description', '')}\n\n{operation.get('summary', '')}",
    }
    if not operation.get("security"):
        request["auth"] = {"type": "noauth"}
    if any(p.get("$ref", "").endswith("IdempotencyKey") for p in operation.get("parameters", [])):
        headers.append({"key": "Idempotency-Key", "value": "{{$guid}}"})
    body = body_example(spec, operation)
    if body is not None:
        headers.append({"key": "Content-Type", "value": "application/json"})
        request["body"] = {
            "mode": "raw",
            "raw": json.dumps(body, indent=2),
            "options": {"raw": {"language": "json"}},
        }
    item: dict[str, Any] = {
        "name": operation.get("summary") or operation["operationId"],
        "request": request,
    }
    if operation["operationId"] in ("auth_login", "auth_verify_email", "auth_refresh"):
        item["name"] = {"auth_login": "Sign in"}.get(operation["operationId"], item["name"])
        item["event"] = [
            {
                "listen": "test",
                "script": {
                    "type": "text/javascript",
                    "exec": [
                        "if (pm.response.code === 200) {",
                        "  const body = pm.response.json();",
                        "  pm.collectionVariables.set('accessToken', body.access_token);",
                        "  pm.collectionVariables.set('refreshToken', body.refresh_token);",
                        "}",
                    ],
                },
            }
        ]
    return item


# --------------------------------------------------------------------------- main


def outputs() -> dict[Path, str]:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    return {
        API_DOC: render_markdown(spec),
        COLLECTION: json.dumps(collection(spec), indent=2, ensure_ascii=False) + "\n",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write or check docs/api.md and the collection.")
    parser.add_argument("--check", action="store_true", help="exit 1 if either is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(f"stale: {', '.join(stale)}: run `make openapi`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
