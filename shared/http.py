"""The HTTP core: one route table per function and the request pipeline around it.

A function declares routes on an :class:`App`; ``App.__call__`` is what its
functions-framework entry point calls with the Flask request. Every request goes down one
straight line:

    request id → deadline budget (shared.deadline) → CORS → size limit → route match
    (werkzeug routing) → authentication → rate limit → principal and permission → query and
    body validation (pydantic) → handler → JSON response (gzip when large) → one structured
    log line and one metrics record (shared/metrics.py)

and every failure, expected or not, leaves through :meth:`App._error_response` as the one
envelope of :mod:`shared.errors`. Routes match both the Hosting path
(``/api/<function>/...``, forwarded in full by the rewrite) and the function's own URL
path (``/...``).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, cast, get_type_hints

import flask
from werkzeug.exceptions import MethodNotAllowed as WerkzeugMethodNotAllowed
from werkzeug.exceptions import NotFound as WerkzeugNotFound
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import Map

from shared import compression, cors, deadline, logs, metrics, request_context
from shared.auth import tokens
from shared.auth.principal import Principal, load_principal
from shared.auth.rbac import Access, AccessRule, as_access_rule
from shared.client_ip import ClientIp
from shared.client_ip import for_request as client_for_request
from shared.config import Settings, get_settings
from shared.errors import (
    ApiError,
    BadRequest,
    ConfigurationError,
    Forbidden,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from shared.ids import PATH_CONVERTERS
from shared.json_depth import MAX_JSON_DEPTH, nesting_exceeds
from shared.model_refs import ModelRef
from shared.model_refs import resolve as resolve_model
from shared.ratelimit import RateLimiter, RateLimitRule, limit_headers
from shared.ratelimit_setup import build_limiter
from shared.request_context import RequestIdentity
from shared.url_rules import MatchRule

# pydantic is imported by the first request that validates a body or a query (its model's
# module imports it), not by the pipeline: a cold GET validating neither never loads it
# (shared/model_refs.py, docs/benchmarks.md "Hot path").
if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

Handler = Callable[["RequestContext"], Any]
# Used only to finish a response when the real settings cannot be read.
_FALLBACK_SETTINGS = Settings()
# One limiter per instance even when the first requests arrive together (its buckets and
# reconcile thread must not be duplicated).
_LIMITER_LOCK = threading.Lock()
M = TypeVar("M", bound="BaseModel")
# Response headers for diagnosis only; production omits them (Settings.sends_debug_headers).
DEBUG_HEADERS = ("X-Firestore-Ops",)


# A route's model: the class itself, or a reference imported on the route's first use
# (shared/model_refs.py), which keeps unused models out of a cold start.
ModelSource: TypeAlias = "type[BaseModel] | ModelRef"


@dataclass(frozen=True)
class Route:
    """One declared route; the table of these drives docs and the role x route tests.

    The models are declared as :data:`ModelSource`; ``body``, ``query``, ``response`` and
    ``responses`` give them resolved (importing a referenced model's module on first use).
    """

    method: str
    path: str
    handler: Handler
    access: AccessRule
    declared_body: ModelSource | None = None
    # With a body model: an empty body (no bytes) means "all defaults" instead of a 400.
    body_optional: bool = False
    declared_query: ModelSource | None = None
    rate_limit: RateLimitRule | None = None
    rate_limited: bool = True
    status: int = 200
    summary: str = ""
    # The contract (scripts/openapi.py): the model of the body sent with ``status`` (None:
    # the handler's return annotation when it is a model, else no body, e.g. 204) ...
    declared_response: ModelSource | None = None
    # ... and every other status this route answers on purpose: a model for another success
    # (207), a sentence saying when for an error the pipeline cannot infer (409, a
    # handler's own 401 or 403). The statuses every route shares are derived, not listed.
    declared_responses: Mapping[int, ModelSource | str] = field(default_factory=dict)
    # Honours the Idempotency-Key request header (a retry answers the first response).
    idempotency_key: bool = False

    @property
    def body(self) -> type[BaseModel] | None:
        """The request body's model (imported now if declared by reference)."""
        return None if self.declared_body is None else resolve_model(self.declared_body)

    @property
    def query(self) -> type[BaseModel] | None:
        """The query string's model (imported now if declared by reference)."""
        return None if self.declared_query is None else resolve_model(self.declared_query)

    @property
    def response(self) -> type[BaseModel] | None:
        """The declared model of the ``status`` body (imported now if by reference)."""
        declared = self.declared_response
        return None if declared is None else resolve_model(declared)

    @property
    def responses(self) -> dict[int, type[BaseModel] | str]:
        """The other statuses: a model (resolved) or the sentence saying when."""
        return {
            status: declared if isinstance(declared, str) else resolve_model(declared)
            for status, declared in self.declared_responses.items()
        }

    @property
    def response_model(self) -> type[BaseModel] | None:
        """The declared response model, else the handler's return annotation if a model."""
        if self.declared_response is not None:
            return self.response
        try:
            annotation = get_type_hints(self.handler).get("return")
        except (NameError, TypeError):  # an annotation that does not resolve names no model
            return None
        from pydantic import BaseModel  # the OpenAPI generator's question, not a request's

        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return annotation
        return None


@dataclass
class Reply:
    """A handler's answer when it needs a status or headers other than the route's."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RequestContext:
    """What a handler gets: the request, who is calling, and the validated inputs."""

    request: flask.Request
    identity: RequestIdentity
    route: Route
    path_params: dict[str, str]
    settings: Settings
    principal: Principal | None = None
    body: Any = None
    query: Any = None

    @property
    def request_id(self) -> str:
        return self.identity.request_id

    @property
    def user(self) -> Principal:
        """The caller; only valid on routes that require sign-in."""
        if self.principal is None:
            raise Unauthorized()
        return self.principal

    def body_as(self, model: type[M] | ModelRef) -> M:
        """The validated body, typed (the route declared ``body=model``)."""
        if not isinstance(self.body, resolve_model(model)):
            raise BadRequest("A JSON body is required.", code="missing_body")
        return cast(M, self.body)  # a ModelRef of M resolves to M

    def query_as(self, model: type[M] | ModelRef) -> M:
        """The validated query parameters, typed (the route declared ``query=model``)."""
        if not isinstance(self.query, resolve_model(model)):
            raise BadRequest("Query parameters are missing.")
        return cast(M, self.query)  # a ModelRef of M resolves to M

    @property
    def client_ip(self) -> str:
        return client_ip(self.request, self.settings)

    @property
    def client(self) -> ClientIp:
        """The caller's address and the key per-IP limits count it under."""
        return client_of(self.request, self.settings)


def client_of(request: flask.Request, settings: Settings) -> ClientIp:
    """The caller, from the hop a trusted proxy appended (shared/client_ip.py)."""
    return client_for_request(request, settings.trusted_proxy_hops, settings.trusted_proxy_networks)


def client_ip(request: flask.Request, settings: Settings) -> str:
    """The caller's IP address (logs, audit, sessions)."""
    return client_of(request, settings).address


def _is_model(value: Any) -> bool:
    # Until some module imported pydantic no value can be a model: answers built of dicts
    # are serialised without importing it.
    pydantic_main = sys.modules.get("pydantic.main")
    return pydantic_main is not None and isinstance(value, pydantic_main.BaseModel)


def to_jsonable(value: Any) -> Any:
    """Turn models, dates and containers into plain JSON values."""
    if _is_model(value):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def json_response(
    body: Any, status: int, headers: Mapping[str, str] | None = None
) -> flask.Response:
    payload = json.dumps(to_jsonable(body), separators=(",", ":"), ensure_ascii=False)
    response = flask.Response(payload, status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def validation_details(exc: ValidationError, location: str) -> list[dict[str, Any]]:
    """Field-level problems, without echoing the input (it may be a password)."""
    details = []
    for error in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in error["loc"])
        details.append(
            {
                "field": path or location,
                "location": location,
                "message": error["msg"],
                "type": error["type"],
            }
        )
    return details


class App:
    """A function's routes and the pipeline that serves them."""

    def __init__(
        self,
        name: str,
        *,
        rate_limiter: RateLimiter | None = None,
        principal_loader: Callable[[tokens.TokenClaims], Principal] = load_principal,
    ) -> None:
        self.name = name
        self.prefix = f"/api/{name}"
        self.routes: list[Route] = []
        self._map = Map(strict_slashes=False, merge_slashes=False, converters=PATH_CONVERTERS)
        self._rate_limiter = rate_limiter
        self._principal_loader = principal_loader
        self._answer_flask_404s()

    def _answer_flask_404s(self) -> None:
        """Paths functions-framework's own router refuses (a newline in a segment, say, which
        its ``/<path:path>`` rule does not match, or ``/robots.txt``) would get Flask's HTML
        404 or 405 page; they go through this App's pipeline instead, so they answer the JSON 404
        of every other unknown path. Outside functions-framework this registers nothing."""
        import functions_framework

        # functions-framework runs the source module inside the app context of the Flask app
        # it is building and points its module-level ``errorhandler`` at that app. An App made
        # anywhere else (a test, a script) must not reach into whichever app was built last.
        building = getattr(getattr(functions_framework, "errorhandler", None), "__self__", None)
        if not isinstance(building, flask.Flask) or not flask.has_app_context():
            return
        if building is not flask.current_app._get_current_object():  # type: ignore[attr-defined]
            return
        for status in (404, 405):
            building.register_error_handler(status, lambda _error: self(flask.request))

    # --- declaring routes -----------------------------------------------------------------

    def route(
        self,
        method: str,
        path: str,
        *,
        access: Access,
        body: ModelSource | None = None,
        body_optional: bool = False,
        query: ModelSource | None = None,
        rate_limit: RateLimitRule | None = None,
        rate_limited: bool = True,
        status: int = 200,
        response: ModelSource | None = None,
        responses: Mapping[int, ModelSource | str] | None = None,
        idempotency_key: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Register ``handler`` for ``method path`` (werkzeug rule syntax: ``/<id>``).

        ``access`` is required: who may call the route (a Permission, a Role, PUBLIC,
        SIGNED_IN or ``roles(...)``, see shared.auth.rbac). Without it the declaration fails
        when the function's module is imported, so no route exists without a decision.

        ``body_optional=True`` lets a caller send no body at all: the handler then gets
        ``body`` built from ``{}`` (so every field of the model needs a default) and no
        Content-Type is required. A body that has any bytes is checked as usual.

        ``response`` (the model of the ``status`` body), ``responses`` (other statuses this
        route answers: a model, or for an error a sentence saying when) and
        ``idempotency_key`` describe the route in the OpenAPI document; the statuses the
        pipeline itself answers (401/403 from ``access``, 400/413/415/422 from the models,
        404 from path parameters, 429, 503) are derived there and need no declaration.

        Any model may be named by reference (``lazy_models`` of shared/model_refs.py): it is
        imported by the route's first request that validates with it, or by the OpenAPI
        generator, instead of at every cold start.
        """
        if body_optional and body is None:
            raise ValueError(f"{method} {path}: body_optional needs a body model")
        rule = as_access_rule(access)

        def register(handler: Handler) -> Handler:
            route = Route(
                method=method.upper(),
                path=path,
                handler=handler,
                access=rule,
                declared_body=body,
                body_optional=body_optional,
                declared_query=query,
                rate_limit=rate_limit,
                rate_limited=rate_limited,
                status=status,
                summary=(handler.__doc__ or "").strip().split("\n")[0],
                declared_response=response,
                declared_responses=dict(responses or {}),
                idempotency_key=idempotency_key,
            )
            endpoint = str(len(self.routes))
            self.routes.append(route)
            own_path = path if path.startswith("/") else "/" + path
            hosting_path = self.prefix + ("" if own_path == "/" else own_path)
            for rule_path in {own_path, hosting_path}:
                self._map.add(MatchRule(rule_path, endpoint=endpoint, methods=[route.method]))
            return handler

        return register

    def get(self, path: str, *, access: Access, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, access=access, **options)

    def post(self, path: str, *, access: Access, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, access=access, **options)

    def patch(self, path: str, *, access: Access, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, access=access, **options)

    def put(self, path: str, *, access: Access, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, access=access, **options)

    def delete(self, path: str, *, access: Access, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, access=access, **options)

    # --- serving --------------------------------------------------------------------------

    @property
    def rate_limiter(self) -> RateLimiter | None:
        if self._rate_limiter is None:
            with _LIMITER_LOCK:
                if self._rate_limiter is None:
                    self._rate_limiter = build_limiter(get_settings())
        return self._rate_limiter

    def __call__(self, request: flask.Request) -> flask.Response:
        """Serve one request (the functions-framework entry point calls this)."""
        started = time.perf_counter()
        identity = request_context.identify(request.headers)
        token = request_context.set_current(identity)
        state: dict[str, Any] = {}
        settings = _FALLBACK_SETTINGS
        try:
            try:
                settings = get_settings()
                with deadline.budget(settings.request_deadline_seconds):
                    response = self._serve(request, identity, settings, state)
            except ApiError as exc:
                response = self._error_response(exc, identity)
            except ConfigurationError as exc:
                # Broken configuration is an operator problem: 503 to the client, the
                # reason to the log, and safe defaults for CORS and logging below.
                logs.error("configuration error", error=str(exc))
                response = self._error_response(ServiceUnavailable(), identity)
            except Exception as exc:
                response = self._unexpected(exc, identity)
            self._finish(request, response, identity, settings)
            self._log(request, response, started, state, settings)
            return response
        finally:
            request_context.reset_current(token)

    def _serve(
        self,
        request: flask.Request,
        identity: RequestIdentity,
        settings: Settings,
        state: dict[str, Any],
    ) -> flask.Response:
        origin = request.headers.get("Origin")
        if cors.is_preflight(request.method, request.headers):
            if origin is None or not cors.origin_allowed(origin, settings.cors_origins):
                raise Forbidden("This origin may not call the API.", code="cors_origin_denied")
            response = flask.Response(status=204)
            response.headers.update(cors.preflight_headers(origin))
            return response

        self._check_size(request, settings)
        route, path_params = self._match(request)
        state["route"] = route.path

        limiter = self.rate_limiter if route.rate_limited else None
        rule = route.rate_limit or RateLimitRule(
            "default", settings.rate_limit_per_minute, settings.rate_limit_burst
        )
        ip_key = f"ip:{client_of(request, settings).limit_key}"
        claims = None
        raw_token = tokens.bearer_token(request.headers.get("Authorization"))
        if not route.access.public:
            try:
                if raw_token is None:
                    raise Unauthorized("Sign in and send 'Authorization: Bearer <access token>'.")
                claims = tokens.verify(raw_token, tokens.TokenKind.ACCESS, settings=settings)
            except Unauthorized:
                # A caller that cannot authenticate spends its IP's budget before it is told
                # so: missing and invalid tokens are limited like any anonymous request.
                if limiter is not None:
                    limiter.check(ip_key, rule)
                raise
            state["user_id"] = claims.user_id

        decision = None
        if limiter is not None:
            key = f"user:{claims.user_id}" if claims else ip_key
            decision = limiter.check(key, rule)

        principal = None
        if claims is not None:
            principal = self._principal_loader(claims)
            if not route.access.allows(principal.role):
                raise Forbidden(f"Your role ({principal.role.value}) may not do this.")

        context = RequestContext(
            request=request,
            identity=identity,
            route=route,
            path_params=path_params,
            settings=settings,
            principal=principal,
            query=self._parse_query(request, route),
            body=self._parse_body(request, route, settings),
        )
        response = self._to_response(route.handler(context), route)
        if decision is not None:
            response.headers.update(limit_headers(rule, decision))
        return response

    def _check_size(self, request: flask.Request, settings: Settings) -> None:
        limit = settings.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise PayloadTooLarge(f"The body may be at most {limit} bytes.")

    def _match(self, request: flask.Request) -> tuple[Route, dict[str, str]]:
        adapter = self._map.bind("localhost", path_info=request.path)
        try:
            endpoint, params = adapter.match(method=request.method)
        except WerkzeugMethodNotAllowed as exc:
            allowed = sorted(set(exc.valid_methods or []))
            raise MethodNotAllowed(
                f"{request.method} is not allowed here; use {', '.join(allowed)}.",
                headers={"Allow": ", ".join(allowed)},
            ) from None
        except WerkzeugNotFound:
            raise NotFound(f"No route for {request.method} {request.path}.") from None
        return self.routes[int(cast(str, endpoint))], {k: str(v) for k, v in params.items()}

    def _parse_query(self, request: flask.Request, route: Route) -> BaseModel | None:
        model = route.query
        if model is None:
            return None
        raw = {k: (v if len(v) > 1 else v[0]) for k, v in request.args.lists()}
        from pydantic import ValidationError  # loaded already: the model's module imports it

        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            raise ValidationFailed(
                "Some query parameters are not valid.",
                details=validation_details(exc, "query"),
            ) from None

    @staticmethod
    def _read_body(request: flask.Request, limit: int) -> bytes:
        """The body, refusing more than ``limit`` bytes even when it arrives chunked."""
        try:
            # A chunked body has no length up front: read one byte past the limit to tell
            # "exactly at the limit" from "over it" without buffering an unbounded body.
            raw = request.stream.read(limit + 1)
        except RequestEntityTooLarge:
            raw = b"x" * (limit + 1)
        if len(raw) > limit:
            raise PayloadTooLarge(f"The body may be at most {limit} bytes.")
        return bytes(raw)

    def _parse_body(
        self, request: flask.Request, route: Route, settings: Settings
    ) -> BaseModel | None:
        model = route.body
        if model is None:
            return None
        raw: bytes | None = None
        if route.body_optional:
            # Only "nothing at all" means defaults; reading first is what tells them apart.
            raw = self._read_body(request, settings.max_body_bytes)
            if not raw:
                return self._validate_body(model, {})
        if request.mimetype != "application/json":
            raise UnsupportedMediaType(
                f"Send the body as application/json (got {request.mimetype or 'none'})."
            )
        if raw is None:
            raw = self._read_body(request, settings.max_body_bytes)
        if not raw.strip():
            raise BadRequest("The request body is empty; send a JSON object.", code="empty_body")
        try:
            payload = json.loads(raw)
        except RecursionError:
            payload = None  # nested past the parser's own limit: refused just below
            too_deep = True
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(
                f"The body is not valid JSON ({str(exc).split(':')[0]}).", code="malformed_json"
            ) from None
        else:
            too_deep = nesting_exceeds(payload, MAX_JSON_DEPTH)
        if too_deep:
            raise BadRequest(
                f"The body nests objects and arrays more than {MAX_JSON_DEPTH} levels deep.",
                code="too_deep",
            )
        if not isinstance(payload, dict):
            raise ValidationFailed(
                "The body must be a JSON object.",
                details=[
                    {
                        "field": "body",
                        "location": "body",
                        "message": "expected a JSON object",
                        "type": "dict_type",
                    }
                ],
            )
        return self._validate_body(model, payload)

    @staticmethod
    def _validate_body(model: type[BaseModel], payload: dict[str, Any]) -> BaseModel:
        from pydantic import ValidationError  # loaded already: the model's module imports it

        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            raise ValidationFailed(
                "Some fields are not valid.", details=validation_details(exc, "body")
            ) from None

    def _to_response(self, result: Any, route: Route) -> flask.Response:
        if isinstance(result, flask.Response):
            return result
        if isinstance(result, Reply):
            if result.body is None and result.status == 204:
                response = flask.Response(status=204)
                response.headers.update(result.headers)
                return response
            return json_response(result.body, result.status, result.headers)
        if result is None:
            return flask.Response(status=204)
        return json_response(result, route.status)

    def _error_response(self, exc: ApiError, identity: RequestIdentity) -> flask.Response:
        return json_response(exc.envelope(identity.request_id), exc.status, exc.headers)

    def _unexpected(self, exc: Exception, identity: RequestIdentity) -> flask.Response:
        if _is_deadline(exc):
            logs.error("request deadline exceeded", error=f"{type(exc).__name__}: {exc}")
            return self._error_response(deadline.DeadlineExceeded(), identity)
        if _is_backend_unavailable(exc):
            logs.error("backend unavailable", error=f"{type(exc).__name__}: {exc}")
            return self._error_response(
                ServiceUnavailable(
                    "A backing service is unavailable; try again shortly.",
                    headers={"Retry-After": str(deadline.RETRY_AFTER_SECONDS)},
                ),
                identity,
            )
        # The stack goes to the log (with the request id), never to the client.
        logs.error(
            "unhandled exception",
            error=f"{type(exc).__name__}: {exc}",
            stack_trace=traceback.format_exc(),
        )
        return self._error_response(InternalError(), identity)

    def _finish(
        self,
        request: flask.Request,
        response: flask.Response,
        identity: RequestIdentity,
        settings: Settings,
    ) -> None:
        headers = response.headers
        headers["X-Request-ID"] = identity.request_id
        if not settings.sends_debug_headers:
            for name in DEBUG_HEADERS:
                headers.pop(name, None)
        # The Hosting CDN caches responses without Cache-Control (404s included).
        headers.setdefault("Cache-Control", "no-store")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        if "Access-Control-Allow-Origin" not in headers:
            for name, value in cors.response_headers(
                request.headers.get("Origin"), settings.cors_origins
            ).items():
                headers[name] = value
        if response.mimetype == "application/json" and not response.direct_passthrough:
            headers.add("Vary", "Accept-Encoding")
            compressed = compression.maybe_gzip(
                response.get_data(), request.headers.get("Accept-Encoding")
            )
            if compressed is not None:
                response.set_data(compressed)
                headers["Content-Encoding"] = "gzip"

    def _log(
        self,
        request: flask.Request,
        response: flask.Response,
        started: float,
        state: dict[str, Any],
        settings: Settings,
    ) -> None:
        latency = time.perf_counter() - started
        status = response.status_code
        # The one timing point: the log line and the cross-instance metrics count the same
        # request with the same latency (shared/metrics.py; no I/O here).
        _record_metrics(self.name, state.get("route"), status, latency)
        severity = "ERROR" if status >= 500 else "WARNING" if status >= 400 else "INFO"
        logs.log(
            severity,
            f"{request.method} {request.path} {status}",
            function=self.name,
            route=state.get("route"),
            user_id=state.get("user_id"),
            # Numeric, for log-based distribution metrics (deploy/monitoring/).
            latency_ms=round(latency * 1000, 3),
            httpRequest={
                "requestMethod": request.method,
                "requestUrl": request.full_path.rstrip("?"),
                "status": status,
                "responseSize": str(response.calculate_content_length() or 0),
                "userAgent": request.headers.get("User-Agent", ""),
                "remoteIp": client_ip(request, settings),
                "latency": f"{latency:.6f}s",
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
            },
        )


def _record_metrics(function: str, route: str | None, status: int, seconds: float) -> None:
    """Count the request in this instance's metrics; never fails the request."""
    try:
        recorder = metrics.get_recorder()
        if recorder is not None:
            recorder.record(function, route or metrics.UNMATCHED_ROUTE, status, seconds)
    except Exception as exc:  # a bookkeeping bug must not turn an answer into a 500
        logs.error("metrics recording failed", error=f"{type(exc).__name__}: {exc}")


def _is_deadline(exc: Exception) -> bool:
    """A Firestore call ran out of time (its own timeout, cut to the request's budget)."""
    from google.api_core import exceptions as google_exceptions

    if isinstance(exc, google_exceptions.DeadlineExceeded):
        return True
    return isinstance(exc, google_exceptions.RetryError) and isinstance(
        exc.cause, google_exceptions.DeadlineExceeded
    )


def _is_backend_unavailable(exc: Exception) -> bool:
    """True for Firestore/Google API outages and time-outs (→ 503, not 500)."""
    try:
        from google.api_core import exceptions as google_exceptions
    except ImportError:  # pragma: no cover - the library is always installed
        return False
    unavailable = (
        google_exceptions.ServiceUnavailable,
        google_exceptions.DeadlineExceeded,
        google_exceptions.RetryError,
        google_exceptions.Aborted,
    )
    return isinstance(exc, unavailable)
