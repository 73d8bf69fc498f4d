"""Dev gateway: serve firebase.json's ``hosting`` block locally, in front of plain function servers.

Firebase's Hosting emulator can only proxy to the Functions emulator, not to the
functions-framework servers we run locally, so this small WSGI app plays Hosting's part. It
follows Hosting's documented order of priority: exact static files in ``public`` (with
``cleanUrls`` and ``trailingSlash``), then ``rewrites`` in order (first match wins), then
``404.html``. Matching ``headers`` blocks are applied to every response.

Globs: the gateway supports the part of Hosting's glob syntax (minimatch) that firebase.json
uses — literal paths, ``*`` within one segment, and ``**`` for any number of segments — with
minimatch's meaning, and refuses every other glob feature (``?``, ``[...]``, ``{a,b}``,
``@(a|b)`` ...) with a message saying so; a ``regex`` rule covers anything else. Wildcards
never match a segment starting with a dot. One consequence worth knowing: ``/api/auth/**``
matches ``/api/auth/`` and ``/api/auth/x/y`` but NOT ``/api/auth`` itself, exactly as on
Hosting, which is why firebase.json also has a ``/api/auth`` rewrite.

Proxied requests keep their full path and query, as Hosting forwards them. Like Hosting, only
the ``__session`` cookie reaches a function.

Usage::

    python scripts/gateway.py --config firebase.json --port 5000 \\
        --function auth=http://127.0.0.1:8101 --function vehicles=http://127.0.0.1:8102
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import mimetypes
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from wsgiref.types import StartResponse, WSGIEnvironment

from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

log = logging.getLogger("gateway")

# Hosting gives up on a function after 60 s and answers 504; we wait exactly as long.
PROXY_TIMEOUT_SECONDS = 60.0
# Used when neither --port nor firebase.json's emulators.hosting.port says otherwise;
# 5000 is the Hosting emulator's own default, so URLs in docs stay valid.
DEFAULT_PORT = 5000
DEFAULT_HOST = "127.0.0.1"
# RFC 9110 §7.6.1: these describe one connection, so a proxy must not pass them on.
HOP_BY_HOP_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Hosting strips every cookie but this one before calling a function (it would otherwise
# poison the CDN cache); doing the same here surfaces that surprise in development.
SESSION_COOKIE = "__session"
# RFC 3986 "pchar" minus "%": the characters a path may carry unencoded when re-quoting.
PATH_SAFE_CHARS = "/!$&'()*+,;=:@-._~"
# Static files answer only reads; other methods go on to rewrites, where functions live.
STATIC_METHODS = frozenset({"GET", "HEAD"})
# Glob syntax beyond literal text, "*" and "**": refused rather than half-supported.
UNSUPPORTED_GLOB_CHARACTERS = frozenset("?[]{}()!+@\\")

Matcher = Callable[[str], bool]


# --------------------------------------------------------------------------- globs


class UnsupportedGlob(ValueError):
    """A glob uses syntax the dev gateway does not implement (see the module docstring)."""


def glob_to_regex(glob: str, *, dot: bool = False) -> re.Pattern[str]:
    """Compile a Hosting glob to a regex meant for ``fullmatch`` against a path.

    Segment by segment, as minimatch matches: ``**`` is any number of segments (at least one
    when it ends the glob, so ``/a/**`` matches ``/a/`` and ``/a/b`` but not ``/a``), ``*`` is
    any run of characters within one segment (never an empty segment), anything else is
    literal, and a path may carry one extra trailing slash. Unless ``dot`` is set no
    wildcard matches a segment that starts with ``.``; ``**`` never swallows ``.`` or ``..``.
    """
    unsupported = sorted(set(glob) & UNSUPPORTED_GLOB_CHARACTERS)
    if unsupported:
        raise UnsupportedGlob(
            f"glob {glob!r} uses {' '.join(unsupported)}: the dev gateway supports literal "
            "paths, '*' within a segment and '**' (all that firebase.json needs); write the "
            "rule with those, or as a 'regex' rule"
        )
    parts: list[str] = []
    for part in glob.split("/"):
        if not (part == "**" and parts and parts[-1] == "**"):  # "**/**" means "**"
            parts.append(part)
    any_segment = r"(?!\.\.?(?:/|\Z))[^/]*" if dot else r"(?!\.)[^/]*"
    pieces: list[str] = []
    last = len(parts) - 1
    for index, part in enumerate(parts):
        if part == "**":
            pieces.append(
                f"{any_segment}(?:/{any_segment})*" if index == last else f"(?:{any_segment}/)*"
            )
            continue
        body = "[^/]*".join(re.escape(literal) for literal in part.split("*"))
        if "*" in part:
            guard = "" if dot or part.startswith(".") else r"(?!\.)"
            body = guard + r"(?=[^/])" + body  # a wildcard segment is never empty
        pieces.append(body if index == last else body + "/")
    trailing_slash = "" if parts[-1] == "**" else "/?"
    return re.compile("".join(pieces) + trailing_slash)


def _matcher(rule: Mapping[str, Any]) -> Matcher:
    """How a rewrite or headers block decides it applies: ``source``/``glob`` or ``regex``."""
    glob = rule.get("source") or rule.get("glob")
    if isinstance(glob, str):
        compiled = glob_to_regex(glob)
        return lambda path: compiled.fullmatch(path) is not None
    regex = rule.get("regex")
    if isinstance(regex, str):
        # Hosting tests a regex with an unanchored search, not a full match.
        searched = re.compile(regex)
        return lambda path: searched.search(path) is not None
    raise ValueError(f"rule needs 'source' or 'regex': {dict(rule)!r}")


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class Rewrite:
    """One ``rewrites`` entry: it serves either a static ``destination`` or a ``function``."""

    matches: Matcher
    destination: str | None
    function: str | None
    description: str


@dataclass(frozen=True)
class HeaderRule:
    """One ``headers`` entry: the headers to set on responses whose path it matches."""

    matches: Matcher
    headers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class HostingConfig:
    """The parts of firebase.json's ``hosting`` block the gateway acts on."""

    public: Path
    ignore: tuple[re.Pattern[str], ...]
    clean_urls: bool
    trailing_slash: bool | None
    rewrites: tuple[Rewrite, ...]
    header_rules: tuple[HeaderRule, ...]


def _function_id(value: Any) -> str | None:
    """Hosting accepts ``"function": "id"`` or ``"function": {"functionId": "id", ...}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("functionId"), str):
        return str(value["functionId"])
    return None


def load_config(config_path: Path) -> HostingConfig:
    """Read firebase.json; ``public`` is resolved against the file's own folder."""
    raw = json.loads(config_path.read_text(encoding="utf-8"))
    hosting = raw.get("hosting")
    if isinstance(hosting, list):  # multi-site configs: the first site is the one we serve
        hosting = hosting[0] if hosting else None
    if not isinstance(hosting, dict) or "public" not in hosting:
        raise ValueError(f"{config_path}: no 'hosting' block with a 'public' folder")
    rewrites = []
    for rule in hosting.get("rewrites", []):
        rewrites.append(
            Rewrite(
                matches=_matcher(rule),
                destination=rule.get("destination"),
                function=_function_id(rule.get("function")),
                description=json.dumps(rule, sort_keys=True),
            )
        )
    header_rules = tuple(
        HeaderRule(
            matches=_matcher(rule),
            headers=tuple((h["key"], h["value"]) for h in rule.get("headers", [])),
        )
        for rule in hosting.get("headers", [])
    )
    trailing = hosting.get("trailingSlash")
    return HostingConfig(
        public=(config_path.parent / hosting["public"]).resolve(),
        # Ignore globs are relative paths and, like deploy's file listing, see dotfiles.
        ignore=tuple(glob_to_regex(g, dot=True) for g in hosting.get("ignore", [])),
        clean_urls=bool(hosting.get("cleanUrls", False)),
        trailing_slash=trailing if isinstance(trailing, bool) else None,
        rewrites=tuple(rewrites),
        header_rules=header_rules,
    )


# --------------------------------------------------------------------------- the app


def normalize_path(path: str) -> str:
    """Resolve ``.``/``..`` and repeated slashes, keeping a trailing slash (posix.normalize)."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    normal = "/" + "/".join(segments)
    return normal + "/" if segments and path.endswith("/") else normal


def error_response(status: int, code: str, message: str) -> Response:
    """The API's error envelope, so clients see gateway failures in the usual shape."""
    body: dict[str, Any] = {
        "error": {"code": code, "message": message, "request_id": None, "details": []}
    }
    return Response(json.dumps(body), status=status, mimetype="application/json")


class Gateway:
    """WSGI app: static files, then rewrites, then 404, with header rules on everything."""

    def __init__(self, config: HostingConfig, function_urls: Mapping[str, str]) -> None:
        self.config = config
        self.function_urls = dict(function_urls)
        for rewrite in config.rewrites:
            if rewrite.function and rewrite.function not in self.function_urls:
                log.warning("no --function URL for %r: its rewrite answers 502", rewrite.function)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        path = normalize_path(request.path)
        response, upstream_headers = self._dispatch(request, path)
        for rule in self.config.header_rules:
            if rule.matches(path):
                for key, value in rule.headers:
                    # A function's own header wins, as in the emulator, which writes the
                    # function's headers after the configured ones.
                    if key.lower() not in upstream_headers:
                        response.headers[key] = value
        return response(environ, start_response)

    def _dispatch(self, request: Request, path: str) -> tuple[Response, frozenset[str]]:
        """The response, and the (lower-cased) header names a proxied function set."""
        if request.method in STATIC_METHODS:
            static = self._static_response(request, path)
            if static is not None:
                return static, frozenset()
        for rewrite in self.config.rewrites:
            if not rewrite.matches(path):
                continue
            if rewrite.function is not None:
                return self._proxy(request, rewrite.function, path)
            if rewrite.destination is not None:
                target = self._file(rewrite.destination)
                if target is not None:
                    return self._file_response(target), frozenset()
                break  # a destination that does not exist is a 404, as on Hosting
            message = f"rewrite not supported by the dev gateway: {rewrite.description}"
            return error_response(502, "bad_gateway", message), frozenset()
        return self._not_found(), frozenset()

    # ----------------------------------------------------------------- static files

    def _file(self, url_path: str) -> Path | None:
        """The public file a URL path names, or None if absent, ignored or outside public."""
        relative = normalize_path(url_path).strip("/")
        if not relative or "\x00" in relative:
            return None
        candidate = (self.config.public / relative).resolve()
        # resolve() follows symlinks, so a link pointing out of public is caught here too.
        if not candidate.is_relative_to(self.config.public) or not candidate.is_file():
            return None
        resolved = candidate.relative_to(self.config.public).as_posix()
        if self._ignored(relative) or self._ignored(resolved):
            return None
        return candidate

    def _ignored(self, relative: str) -> bool:
        """True if the path or any folder above it matches an ``ignore`` glob.

        Checking the folders too is stricter than deploy (where "**/.*" alone would not hide
        ".git/config"), on purpose: a dev server has no business serving such files.
        """
        parts = relative.split("/")
        prefixes = ("/".join(parts[: n + 1]) for n in range(len(parts)))
        return any(glob.fullmatch(p) for p in prefixes for glob in self.config.ignore)

    def _static_response(self, request: Request, path: str) -> Response | None:
        """Serve or redirect to a static file, honouring cleanUrls and trailingSlash."""
        config = self.config
        bare = path.rstrip("/")
        if config.clean_urls and bare.endswith(".html") and self._file(bare) is not None:
            clean = bare.removesuffix(".html")
            clean = clean.removesuffix("/index") if clean.endswith("/index") else clean
            return self._redirect(request, (clean or "/") + ("/" if config.trailing_slash else ""))
        direct = self._file(bare)
        if direct is not None and path.endswith("/") and bare:
            return self._redirect(request, bare)  # a file never takes a trailing slash
        if direct is not None:
            return self._file_response(direct)
        candidates = [f"{bare}/index.html"] + ([f"{bare}.html"] if config.clean_urls else [])
        if not bare:
            candidates = ["/index.html"]
        for candidate in candidates:
            found = self._file(candidate)
            if found is None:
                continue
            if bare and config.trailing_slash is False and path.endswith("/"):
                return self._redirect(request, bare)
            if bare and config.trailing_slash is True and not path.endswith("/"):
                return self._redirect(request, bare + "/")
            return self._file_response(found)
        return None

    @staticmethod
    def _redirect(request: Request, location: str) -> Response:
        """301 as Hosting sends for cleanUrls/trailingSlash, keeping the query string."""
        query = request.query_string.decode("latin-1")
        target = quote(location, safe=PATH_SAFE_CHARS) + (f"?{query}" if query else "")
        return Response(status=301, headers={"Location": target})

    @staticmethod
    def _file_response(file: Path, status: int = 200) -> Response:
        mimetype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return Response(file.read_bytes(), status=status, mimetype=mimetype)

    def _not_found(self) -> Response:
        page = self._file("/404.html")
        if page is not None:
            return self._file_response(page, status=404)
        return Response("<h1>404 Not Found</h1>", status=404, mimetype="text/html")

    # ----------------------------------------------------------------- functions

    def _proxy(
        self, request: Request, function_id: str, path: str
    ) -> tuple[Response, frozenset[str]]:
        """Forward the request to the function's server; relay its answer."""
        base = self.function_urls.get(function_id)
        if base is None:
            message = f"no URL for function {function_id!r}; start the gateway with --function"
            return error_response(502, "bad_gateway", message), frozenset()
        target = urlsplit(base)
        connection_class = (
            http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
        )
        query = request.query_string.decode("latin-1")
        # The function's base URL may carry a prefix; the request path is appended whole.
        url = target.path.rstrip("/") + quote(path, safe=PATH_SAFE_CHARS)
        url += f"?{query}" if query else ""
        connection = connection_class(target.netloc, timeout=PROXY_TIMEOUT_SECONDS)
        try:
            connection.request(
                request.method,
                url,
                body=request.get_data() or None,
                headers=self._upstream_request_headers(request),
            )
            upstream = connection.getresponse()
            body = upstream.read()
            headers = [
                (k, v) for k, v in upstream.getheaders() if k.lower() not in HOP_BY_HOP_HEADERS
            ]
        except TimeoutError:
            message = f"function {function_id!r} did not answer within {PROXY_TIMEOUT_SECONDS:g} s"
            return error_response(504, "gateway_timeout", message), frozenset()
        except (OSError, http.client.HTTPException) as exc:
            message = f"function {function_id!r} at {base} is unreachable: {exc}"
            return error_response(502, "bad_gateway", message), frozenset()
        finally:
            connection.close()
        names = frozenset(k.lower() for k, _ in headers)
        # Content-Length is recomputed from the body we actually relay, except for HEAD,
        # whose empty body must still announce the length a GET would have.
        relayed = [(k, v) for k, v in headers if k.lower() != "content-length"]
        response = Response(body, status=upstream.status, headers=relayed)
        if "content-type" not in names:
            del response.headers["Content-Type"]  # werkzeug's default; the function set none
        length = upstream.getheader("Content-Length")
        if request.method == "HEAD" and length is not None:
            response.headers["Content-Length"] = length
        return response, names

    @staticmethod
    def _upstream_request_headers(request: Request) -> dict[str, str]:
        """Client headers minus hop-by-hop ones, plus the X-Forwarded-* trio."""
        connection_tokens = {
            token.strip().lower() for token in request.headers.get("Connection", "").split(",")
        }
        # Host names the function's server now (http.client sets it); Content-Length is
        # recomputed from the body we send.
        dropped = HOP_BY_HOP_HEADERS | connection_tokens | {"host", "content-length", "cookie"}
        headers = {k: v for k, v in request.headers.items() if k.lower() not in dropped}
        session = [
            c.strip()
            for c in request.headers.get("Cookie", "").split(";")
            if c.strip().startswith(f"{SESSION_COOKIE}=")
        ]
        if session:
            headers["Cookie"] = session[0]
        # As Google's front end does: keep whatever the client sent and append the peer
        # address, so the functions' client-IP rule (PMI_TRUSTED_PROXY_HOPS=1, counted from
        # the right) meets here exactly what it meets in the cloud.
        client = request.remote_addr or "unknown"
        earlier = ", ".join(request.headers.getlist("X-Forwarded-For"))
        headers["X-Forwarded-For"] = f"{earlier}, {client}" if earlier else client
        headers["X-Forwarded-Host"] = request.host
        headers["X-Forwarded-Proto"] = request.scheme
        return headers


def create_gateway(config_path: Path, function_urls: dict[str, str]) -> Gateway:
    """Build the WSGI app from firebase.json and a function-id -> base-URL map."""
    return Gateway(load_config(config_path), function_urls)


# --------------------------------------------------------------------------- CLI


def _function_arg(value: str) -> tuple[str, str]:
    function_id, sep, url = value.partition("=")
    if not sep or not function_id or not url.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"expected ID=http://host:port, got {value!r}")
    return function_id, url


def _configured_port(config_path: Path) -> int:
    """emulators.hosting.port from firebase.json, so the gateway sits where Hosting would."""
    try:
        raw = json.loads(config_path.read_text(encoding="utf-8"))
        return int(raw["emulators"]["hosting"]["port"])
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_PORT


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--config", type=Path, default=Path("firebase.json"))
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, help="default: emulators.hosting.port, else 5000")
    parser.add_argument(
        "--function",
        type=_function_arg,
        action="append",
        default=[],
        metavar="ID=URL",
        help="base URL of a function's server; repeat per function",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        app = create_gateway(args.config, dict(args.function))
    except (OSError, ValueError) as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 2
    port = args.port if args.port is not None else _configured_port(args.config)
    run_simple(args.host, port, app, threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
