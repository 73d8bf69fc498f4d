"""Behaviour of the dev gateway (scripts/gateway.py): Hosting's routing, headers and proxying.

Two tiny echo servers stand in for functions, and the gateway runs on a real socket so the
proxying is exercised end to end. Requests go through http.client because other clients
normalise "/../" away before it ever reaches the server.
"""

from __future__ import annotations

import http.client
import json
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
# scripts/ is not a package, hence the sys.path entry above.
from gateway import (
    PROXY_TIMEOUT_SECONDS,
    UnsupportedGlob,
    create_gateway,
    glob_to_regex,
    normalize_path,
)

HOST = "127.0.0.1"
SECRET = "TOP-SECRET-OUTSIDE-PUBLIC"
# Request headers the echo servers report back, so tests can see what was forwarded.
ECHOED_HEADERS = (
    "Content-Type",
    "Cookie",
    "X-Forwarded-For",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
    "X-Custom",
    "X-Hop",
    "Host",
)

CONFIG: dict[str, Any] = {
    "hosting": {
        "public": "public",
        "ignore": ["firebase.json", "**/.*", "**/node_modules/**"],
        "cleanUrls": True,
        "trailingSlash": False,
        "rewrites": [
            {"source": "/api/auth/**", "function": {"functionId": "auth", "region": "x"}},
            {"source": "/api/bookings/**", "function": "bookings"},
            {"source": "/api/vehicles/**", "function": {"functionId": "vehicles"}},
            {"source": "/api/**", "function": "auth"},  # only reached by other /api paths
            {"regex": r"^/legacy/\d+$", "function": "bookings"},
            {"source": "/manual/**", "destination": "/guide.html"},
            {"source": "**", "destination": "/index.html"},
        ],
        "headers": [
            {"source": "/api/**", "headers": [{"key": "Cache-Control", "value": "no-store"}]},
            {
                "regex": r"\.(js|css)$",
                "headers": [{"key": "Cache-Control", "value": "public, max-age=300"}],
            },
            {"source": "**", "headers": [{"key": "X-Frame-Options", "value": "DENY"}]},
        ],
    }
}

PUBLIC_FILES = {
    "index.html": "<h1>SPA index</h1>",
    "404.html": "<h1>custom 404</h1>",
    "about.html": "<h1>about page</h1>",
    "guide.html": "<h1>guide</h1>",
    "app.js": "console.log('app');",
    "docs/index.html": "<h1>docs index</h1>",
    "api/static.json": '{"static": true}',
    "firebase.json": SECRET,
    ".env": SECRET,
    ".git/config": SECRET,
    "node_modules/pkg/index.js": SECRET,
}


def _echo_app(name: str) -> Any:
    """A stand-in function server that reports what it received."""

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        payload = {
            "backend": name,
            "method": request.method,
            "raw_uri": environ.get("RAW_URI") or environ.get("REQUEST_URI"),
            "path": request.path,
            "query": request.query_string.decode(),
            "headers": {h: request.headers.get(h) for h in ECHOED_HEADERS},
            "body": request.get_data(as_text=True),
        }
        response = Response(json.dumps(payload), mimetype="application/json")
        response.headers.add("Set-Cookie", "a=1")
        response.headers.add("Set-Cookie", "b=2")
        response.headers["Keep-Alive"] = "timeout=5"  # hop-by-hop: must not reach the client
        if request.args.get("cache"):
            response.headers["Cache-Control"] = "private, max-age=10"
        return response(environ, start_response)

    return app


def _serve(app: Any) -> Iterator[BaseWSGIServer]:
    server = make_server(HOST, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def auth_server() -> Iterator[BaseWSGIServer]:
    yield from _serve(_echo_app("auth"))


@pytest.fixture(scope="module")
def bookings_server() -> Iterator[BaseWSGIServer]:
    yield from _serve(_echo_app("bookings"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder: firebase.json and a secret beside a public folder."""
    root = tmp_path_factory.mktemp("site")
    (root / "firebase.json").write_text(json.dumps(CONFIG))
    (root / "secret.txt").write_text(SECRET)
    for relative, text in PUBLIC_FILES.items():
        file = root / "public" / relative
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)
    (root / "public" / "escape.html").symlink_to(root / "secret.txt")
    return root


@pytest.fixture(scope="module")
def gateway_port(
    site: Path, auth_server: BaseWSGIServer, bookings_server: BaseWSGIServer
) -> Iterator[int]:
    urls = {
        "auth": f"http://{HOST}:{auth_server.server_port}",
        "bookings": f"http://{HOST}:{bookings_server.server_port}",
        "vehicles": f"http://{HOST}:{_unused_port()}",  # nothing listens there
    }
    for server in _serve(create_gateway(site / "firebase.json", urls)):
        yield server.server_port


class Reply:
    """What the gateway answered: status, headers (duplicates kept) and body."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = response.getheaders()
        self.body = response.read().decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


def fetch(
    port: int,
    target: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request(method, target, body=body, headers=headers or {})
        return Reply(connection.getresponse())
    finally:
        connection.close()


# --------------------------------------------------------------------------- proxying


def test_function_rewrite_forwards_the_full_path_and_query(gateway_port: int) -> None:
    reply = fetch(gateway_port, "/api/bookings/123?x=1&y=a%20b")
    assert reply.status == 200
    echo = reply.json()
    assert echo["backend"] == "bookings"
    assert echo["raw_uri"] == "/api/bookings/123?x=1&y=a%20b"
    assert echo["path"] == "/api/bookings/123"
    assert echo["query"] == "x=1&y=a%20b"


def test_rewrites_are_tried_in_order_and_the_first_match_wins(gateway_port: int) -> None:
    # "/api/**" -> auth would match too, but the bookings rule comes first.
    assert fetch(gateway_port, "/api/bookings/9").json()["backend"] == "bookings"
    assert fetch(gateway_port, "/api/auth/login").json()["backend"] == "auth"
    assert fetch(gateway_port, "/api/other/thing").json()["backend"] == "auth"


def test_regex_rewrite_proxies_matching_paths(gateway_port: int) -> None:
    assert fetch(gateway_port, "/legacy/42").json()["backend"] == "bookings"
    assert fetch(gateway_port, "/legacy/abc").body == PUBLIC_FILES["index.html"]


def test_post_body_method_and_query_are_forwarded(gateway_port: int) -> None:
    payload = json.dumps({"vin": "WVWZZZ1JZXW000001"}).encode()
    reply = fetch(
        gateway_port,
        "/api/auth/register?invite=abc",
        method="POST",
        body=payload,
        headers={"Content-Type": "application/json", "X-Custom": "kept"},
    )
    echo = reply.json()
    assert echo["method"] == "POST"
    assert echo["query"] == "invite=abc"
    assert echo["body"] == payload.decode()
    assert echo["headers"]["Content-Type"] == "application/json"
    assert echo["headers"]["X-Custom"] == "kept"


def test_other_methods_are_forwarded_as_is(gateway_port: int) -> None:
    for method in ("PUT", "PATCH", "DELETE"):
        assert fetch(gateway_port, "/api/bookings/1", method=method).json()["method"] == method


def test_x_forwarded_for_appends_the_client_address(gateway_port: int) -> None:
    echo = fetch(gateway_port, "/api/auth/me", headers={"X-Forwarded-For": "203.0.113.7"}).json()
    assert echo["headers"]["X-Forwarded-For"] == f"203.0.113.7, {HOST}"


def test_x_forwarded_host_and_proto_describe_the_original_request(gateway_port: int) -> None:
    echo = fetch(gateway_port, "/api/auth/me").json()
    assert echo["headers"]["X-Forwarded-For"] == HOST
    assert echo["headers"]["X-Forwarded-Host"] == f"{HOST}:{gateway_port}"
    assert echo["headers"]["X-Forwarded-Proto"] == "http"
    assert echo["headers"]["Host"] != f"{HOST}:{gateway_port}"  # Host names the function


def test_hop_by_hop_headers_are_not_forwarded_either_way(gateway_port: int) -> None:
    reply = fetch(gateway_port, "/api/auth/me", headers={"Connection": "X-Hop", "X-Hop": "secret"})
    assert reply.json()["headers"]["X-Hop"] is None
    assert reply.header("Keep-Alive") is None


def test_only_the_session_cookie_reaches_a_function(gateway_port: int) -> None:
    echo = fetch(
        gateway_port, "/api/auth/me", headers={"Cookie": "theme=dark; __session=tok; x=1"}
    ).json()
    assert echo["headers"]["Cookie"] == "__session=tok"
    without_session = fetch(gateway_port, "/api/auth/me", headers={"Cookie": "theme=dark"})
    assert without_session.json()["headers"]["Cookie"] is None


def test_function_response_headers_are_relayed_with_duplicates(gateway_port: int) -> None:
    reply = fetch(gateway_port, "/api/auth/me")
    assert reply.all("Set-Cookie") == ["a=1", "b=2"]
    assert reply.header("Content-Type") == "application/json"


def test_unreachable_function_answers_502_error_envelope(gateway_port: int) -> None:
    reply = fetch(gateway_port, "/api/vehicles/WVW1")
    assert reply.status == 502
    assert reply.header("Content-Type") == "application/json"
    error = reply.json()["error"]
    assert error["code"] == "bad_gateway"
    assert "vehicles" in error["message"]
    assert error["request_id"] is None
    assert error["details"] == []


def test_function_without_a_configured_url_answers_502(site: Path) -> None:
    app = create_gateway(site / "firebase.json", {})
    client = _wsgi_client(app)
    reply = client.get("/api/auth/me")
    assert reply.status_code == 502
    assert reply.get_json()["error"]["code"] == "bad_gateway"


def test_proxy_timeout_matches_hostings_sixty_seconds() -> None:
    assert PROXY_TIMEOUT_SECONDS == 60


# --------------------------------------------------------------------------- static files


def test_static_file_wins_over_a_matching_rewrite(gateway_port: int) -> None:
    reply = fetch(gateway_port, "/api/static.json")
    assert reply.status == 200
    assert reply.json() == {"static": True}
    assert reply.header("Content-Type") == "application/json"


def test_static_files_are_only_for_reads(gateway_port: int) -> None:
    # A POST cannot be answered by a file, so it goes on to the function rewrite.
    echo = fetch(gateway_port, "/api/static.json", method="POST", body=b"x").json()
    assert echo["backend"] == "auth"


def test_clean_urls_serve_html_without_its_extension(gateway_port: int) -> None:
    reply = fetch(gateway_port, "/about")
    assert reply.status == 200
    assert reply.body == PUBLIC_FILES["about.html"]
    assert reply.header("Content-Type") == "text/html; charset=utf-8"


def test_clean_urls_redirect_the_html_extension_away(gateway_port: int) -> None:
    reply = fetch(gateway_port, "/about.html?ref=1")
    assert reply.status == 301
    assert reply.header("Location") == "/about?ref=1"


def test_directory_serves_its_index_html(gateway_port: int) -> None:
    assert fetch(gateway_port, "/docs").body == PUBLIC_FILES["docs/index.html"]
    assert fetch(gateway_port, "/").body == PUBLIC_FILES["index.html"]


def test_trailing_slash_false_redirects_to_the_bare_path(gateway_port: int) -> None:
    reply = fetch(gateway_port, "/docs/")
    assert reply.status == 301
    assert reply.header("Location") == "/docs"


def test_unknown_paths_fall_back_to_the_spa_index(gateway_port: int) -> None:
    reply = fetch(gateway_port, "/vehicles/WVW1/history")
    assert reply.status == 200
    assert reply.body == PUBLIC_FILES["index.html"]


def test_destination_rewrite_serves_that_file(gateway_port: int) -> None:
    assert fetch(gateway_port, "/manual/chapter/2").body == PUBLIC_FILES["guide.html"]


def test_no_matching_rule_answers_404_page(tmp_path: Path) -> None:
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "404.html").write_text("<h1>custom 404</h1>")
    (tmp_path / "firebase.json").write_text(json.dumps({"hosting": {"public": "public"}}))
    reply = _wsgi_client(create_gateway(tmp_path / "firebase.json", {})).get("/nowhere")
    assert reply.status_code == 404
    assert reply.get_data(as_text=True) == "<h1>custom 404</h1>"


@pytest.mark.parametrize(
    "target",
    [
        "/../secret.txt",
        "/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/firebase.json",
        "/docs/..%2f..%2fsecret.txt",
        "/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/..\\secret.txt",
        "/escape.html",  # a symlink from public to outside it
        "/escape",
        "/%00",
    ],
)
def test_path_traversal_never_leaks_files_outside_public(gateway_port: int, target: str) -> None:
    reply = fetch(gateway_port, target)
    assert reply.status in (200, 404)  # the SPA fallback or a 404, never an error
    assert SECRET not in reply.body


@pytest.mark.parametrize(
    "target", ["/firebase.json", "/.env", "/.git/config", "/node_modules/pkg/index.js"]
)
def test_ignored_files_are_never_served(gateway_port: int, target: str) -> None:
    reply = fetch(gateway_port, target)
    assert SECRET not in reply.body
    # Served as if absent: the SPA fallback, or 404 where "**" skips a dot segment.
    assert reply.body in (PUBLIC_FILES["index.html"], PUBLIC_FILES["404.html"])


# --------------------------------------------------------------------------- headers


def test_header_rules_apply_to_proxied_responses(gateway_port: int) -> None:
    reply = fetch(gateway_port, "/api/bookings/1")
    assert reply.header("Cache-Control") == "no-store"
    assert reply.header("X-Frame-Options") == "DENY"


def test_function_own_header_wins_over_a_header_rule(gateway_port: int) -> None:
    reply = fetch(gateway_port, "/api/bookings/1?cache=1")
    assert reply.all("Cache-Control") == ["private, max-age=10"]


def test_header_rules_apply_to_static_responses(gateway_port: int) -> None:
    script = fetch(gateway_port, "/app.js")
    assert script.header("Cache-Control") == "public, max-age=300"
    assert script.header("X-Frame-Options") == "DENY"
    page = fetch(gateway_port, "/about")
    assert page.header("Cache-Control") is None
    assert page.header("X-Frame-Options") == "DENY"


def test_header_rules_apply_to_errors_too(gateway_port: int) -> None:
    reply = fetch(gateway_port, "/api/vehicles/x")
    assert reply.status == 502
    assert reply.header("Cache-Control") == "no-store"


# --------------------------------------------------------------------------- globs


@pytest.mark.parametrize(
    ("glob", "path", "expected"),
    [
        ("/api/auth/**", "/api/auth/x/y", True),
        ("/api/auth/**", "/api/auth/login", True),
        ("/api/auth/**", "/api/auth/", True),
        # minimatch's "**" at the end needs a segment to swallow; Hosting inherits that.
        ("/api/auth/**", "/api/auth", False),
        ("/api/auth/**", "/api/authx/y", False),
        ("/api/auth/**", "/api/bookings/1", False),
        ("/api/*", "/api/a", True),
        ("/api/*", "/api/a/b", False),
        ("/api/*", "/api/", False),
        ("**", "/", True),
        ("**", "/a/b/c", True),
        ("**", "/.well-known/x", False),
        ("/a/**/b", "/a/b", True),
        ("/a/**/b", "/a/x/y/b", True),
        ("/a/**/b", "/a/x/y/c", False),
        ("/about", "/about", True),
        ("/about", "/about/", True),
        ("/about", "/about/x", False),
        ("/a.b", "/aXb", False),
        ("**/*.js", "/app.js", True),
        ("**/*.js", "/assets/deep/site.js", True),
        ("**/*.js", "/app.json", False),
        ("**/*.js", "/.hidden.js", False),
        ("/api/*", "/api/.env", False),
        ("/file*.txt", "/file12.txt", True),
        ("/file*.txt", "/file/12.txt", False),
    ],
)
def test_glob_translator_follows_hosting_minimatch_rules(
    glob: str, path: str, expected: bool
) -> None:
    assert (glob_to_regex(glob).fullmatch(path) is not None) is expected


@pytest.mark.parametrize(
    "glob", ["/file?.txt", "/[ab].html", "/img.{png,jpg}", "**/*.@(js|css)", "/+(a|b)", "/\\*"]
)
def test_glob_features_beyond_literal_star_and_globstar_are_refused(glob: str) -> None:
    with pytest.raises(UnsupportedGlob, match="supports literal paths, '\\*' within a segment"):
        glob_to_regex(glob)


def test_a_config_with_an_unsupported_glob_does_not_start(tmp_path: Path) -> None:
    config = {"hosting": {"public": "public", "rewrites": [{"source": "/a?", "function": "x"}]}}
    (tmp_path / "firebase.json").write_text(json.dumps(config))
    with pytest.raises(UnsupportedGlob, match="'/a\\?'"):
        create_gateway(tmp_path / "firebase.json", {})


def test_the_projects_firebase_json_uses_only_supported_globs() -> None:
    repo = Path(__file__).resolve().parents[1]
    create_gateway(repo / "firebase.json", {})  # raises on any unsupported glob


@pytest.mark.parametrize(
    ("glob", "path", "expected"),
    [
        ("**/.*", ".env", True),
        ("**/.*", "nested/.env", True),
        ("**/.*", "about.html", False),
        ("**/node_modules/**", "node_modules/pkg/index.js", True),
        ("**/node_modules/**", "a/node_modules/x", True),
        ("firebase.json", "firebase.json", True),
        ("firebase.json", "docs/firebase.json", False),
    ],
)
def test_ignore_globs_match_relative_paths_including_dotfiles(
    glob: str, path: str, expected: bool
) -> None:
    assert (glob_to_regex(glob, dot=True).fullmatch(path) is not None) is expected


def test_bare_function_prefix_is_proxied_by_its_own_rewrite(auth_server: BaseWSGIServer) -> None:
    # On Hosting "/api/auth/**" does not match "/api/auth" itself, so the project's
    # firebase.json carries an explicit "/api/auth" rewrite before it (GET /api/vehicles
    # lists vehicles); both must reach the function.
    repo = Path(__file__).resolve().parents[1]
    urls = {"auth": f"http://{HOST}:{auth_server.server_port}"}
    client = _wsgi_client(create_gateway(repo / "firebase.json", urls))
    assert client.get("/api/auth").get_json()["backend"] == "auth"
    assert client.get("/api/auth/").get_json()["backend"] == "auth"
    assert client.get("/api/auth/login").get_json()["backend"] == "auth"
    # Not the dashboard: the final "/api/**" rewrite sends it to the monitoring function
    # (not started here, hence the gateway's own 502 envelope).
    assert client.get("/api/authx").get_json()["error"]["code"] == "bad_gateway"


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("/", "/"),
        ("/a/./b", "/a/b"),
        ("/a/../../b", "/b"),
        ("//a//b/", "/a/b/"),
        ("/a/..", "/"),
    ],
)
def test_normalize_path_resolves_dot_segments_and_keeps_trailing_slash(
    raw: str, normal: str
) -> None:
    assert normalize_path(raw) == normal


def _wsgi_client(app: Any) -> Any:
    from werkzeug.test import Client

    return Client(app)
