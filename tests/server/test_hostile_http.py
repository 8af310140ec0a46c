"""Hostile HTTP: CORS look-alike origins are never allowed; oversized bodies get 413; over-long
messages 400; malformed bodies never a 5xx, always the one error shape, never echoed.

Flask's test client on an app over the real index, with `CORS_ORIGINS` naming two host pages.

Origins (RFC 6454): an origin is the triple (scheme, host, port), and the `Origin` header carries its
serialisation `scheme://host[:port]` (section 7.1). Two strings name the same origin when they parse to
the same triple: the scheme and host are case-insensitive (lower-cased when the origin of a URI is
computed, section 4) and an explicit default port is the default port. So "HTTPS://HOSPITAL.EXAMPLE.ORG"
and "https://hospital.example.org:443" are the allowed origin written differently, not look-alikes:
the server may allow them. Everything else is refused: another scheme, host (a sub- or parent domain,
a suffix or prefix, a trailing dot, a homoglyph, its punycode) or port; "null"; a header that is not
one serialised origin (userinfo, a path, several origins, whitespace or control characters inside).
Browsers only ever send the serialised form, so echoing the header back is exact for them.

Header values reach a WSGI app as latin-1 text (PEP 3333), so non-ASCII look-alikes are sent as
their UTF-8 bytes read as latin-1, as a real server would hand them over.
"""
from __future__ import annotations

import io
import json
import re
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given, settings, strategies as st
from flask.testing import EnvironBuilder
from werkzeug.wrappers import Request

from bot.store import InMemoryStore
from server.app import create_app
from server.cors import normalise_origin

ALLOWED = "https://hospital.example.org"
ALLOWED_LOCAL = "http://localhost:8080"
MAX_BODY = 16384
MAX_CHARS = 1000
MARKER = "ZQXMARKER7731"  # in every hostile body; never in a response


@pytest.fixture(scope="module")
def app(loaded, tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:  # negative feedback is logged: keep it out of var/reports
        patch.setenv("RCA_REPORTS_DIR", str(tmp_path_factory.mktemp("hostile-reports")))
        yield create_app({"RESOURCES": loaded, "STORE": InMemoryStore(), "TESTING": False, "RATE_LIMITER": None,
                          "RELOAD_CHECK_SECONDS": 3600.0, "CORS_ORIGINS": f"{ALLOWED}, {ALLOWED_LOCAL}",
                          "MAX_CONTENT_LENGTH": MAX_BODY, "MESSAGE_MAX_CHARS": MAX_CHARS})


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


def wsgi_header(value: str) -> str:
    """The header as a WSGI server hands it over: its UTF-8 bytes decoded as latin-1."""
    return value.encode("utf-8").decode("latin-1")


def error_code(response) -> str:
    """The one error shape, and nothing else: {"error": {"code", "message"}}."""
    assert response.mimetype == "application/json", (response.status_code, response.get_data()[:200])
    body = json.loads(response.get_data())
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert all(isinstance(v, str) and v for v in body["error"].values()), body
    return body["error"]["code"]


# ---------------------------------------------------------------------------------------------- CORS

LOOK_ALIKES = [
    # another scheme
    "http://hospital.example.org", "ws://hospital.example.org", "wss://hospital.example.org",
    "ftp://hospital.example.org", "file://", "file:///etc/passwd", "file://hospital.example.org",
    "data:text/html,hospital.example.org", "javascript://hospital.example.org",
    # another port (or an invalid one)
    "https://hospital.example.org:8443", "https://hospital.example.org:80", "http://hospital.example.org:443",
    "https://hospital.example.org:4430", "https://hospital.example.org:99999", "https://hospital.example.org:-443",
    "https://hospital.example.org:443.evil.net", "HTTPS://HOSPITAL.EXAMPLE.ORG:8443",
    # another host
    "https://www.hospital.example.org", "https://api.hospital.example.org", "https://example.org",
    "https://hospital.example.org.evil.net", "https://HOSPITAL.EXAMPLE.ORG.evil.net",
    "https://hospital.example.org.", "https://hospital.example.org..", "https://evilhospital.example.org",
    "https://hospital-example.org", "https://hospital.example.or", "https://hospital.example.orgx",
    "https://hospital.example.org%2eevil.net", "https://hospital%2eexample.org", "https://hospital.example.org%00",
    "https://127.0.0.1", "https://[::1]",
    # userinfo: the host is the part after the last @
    "https://hospital.example.org@evil.net", "https://hospital.example.org:443@evil.net",
    "https://evil.net@hospital.example.org", "https://user:pass@hospital.example.org",
    "https://hospital.example.org\\@evil.net",
    # homoglyphs (I for l, Cyrillic o and a, fullwidth dots, circled h) and their punycode
    "https://hospitaI.example.org", "https://h\u043espital.example.org", "https://hospit\u0430l.example.org",
    "https://xn--hspital-9ig.example.org", "https://hospital\uff0eexample\uff0eorg", "https://\u24d7ospital.example.org",
    "https://hospital.\u0435xample.org",
    # not an origin at all
    "null", "NULL", "*", "https://*.example.org", "hospital.example.org", "//hospital.example.org",
    "https:hospital.example.org", "https:/hospital.example.org", "https:///hospital.example.org", "https://",
    "https://hospital.example.org/path", "https://hospital.example.org/hospital.example.org",
    "https://hospital.example.org?x=1", "https://hospital.example.org#frag", "https://evil.net/https://hospital.example.org",
    "https://evil.net?https://hospital.example.org", "https://evil.net#@hospital.example.org",
    "https://hospital.example.org;evil.net", "https://hospital.example.org evil", "https://hospital. example.org",
    # several origins in one header (RFC 6454's origin-list; also how two Origin lines are joined)
    f"{ALLOWED} https://evil.net", f"https://evil.net {ALLOWED}", f"{ALLOWED}, https://evil.net",
    f"https://evil.net, {ALLOWED}", f"{ALLOWED},{ALLOWED}", f"{ALLOWED} {ALLOWED}",
    # look-alikes of the second allowed origin
    "http://localhost", "http://localhost:80", "http://localhost:8081", "https://localhost:8080",
    "http://127.0.0.1:8080", "http://localhost.:8080", "http://localhost:8080.evil.net", "http://[::1]:8080",
]
# Look-alikes that urlsplit turns into the allowed origin: a tab inside (legal inside an HTTP field
# value, and gunicorn passes it through; urlsplit deletes tabs and newlines anywhere, WHATWG-style),
# and port 0, which is not https's default port 443 (normalise_origin drops any falsy port).
URLSPLIT_LOOK_ALIKES = ["https://hospital.exa\tmple.org", "https://hosp\tital.example.org",
                        "htt\tps://hospital.example.org", "https://hospital.example.org:0", "https://hospital.example.org:00"]
SAME_ORIGIN = [ALLOWED, "HTTPS://HOSPITAL.EXAMPLE.ORG", "https://Hospital.Example.Org", "https://hospital.example.org:443",
               "https://hospital.example.org/", ALLOWED_LOCAL, "HTTP://LOCALHOST:8080", "http://localhost:8080/"]

SESSION = "cors-session"
# (method, path, JSON body): every route under /api/ and /webhooks/, which is where CORS applies
API_ROUTES = [
    ("POST", "/api/chat", {"session_id": SESSION, "message": "hello"}),
    ("POST", "/webhooks/rest/webhook", {"sender": SESSION, "message": "hello"}),
    ("POST", "/api/feedback", {"session_id": SESSION, "message_id": "m1", "rating": "up"}),
    ("GET", "/api/search?q=thymoma&k=1", None),
    ("GET", "/api/documents/nci-irci", None),
    ("GET", f"/api/sessions/{SESSION}/export", None),
    ("DELETE", f"/api/sessions/{SESSION}", None),
    ("GET", "/api/openapi.json", None),
]
OTHER_ROUTES = [("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/documents/nci-irci"), ("GET", "/widget.js"), ("GET", "/")]


def test_the_corpus_is_big_and_really_made_of_look_alikes():
    assert len(LOOK_ALIKES) + len(URLSPLIT_LOOK_ALIKES) >= 20 and len(set(LOOK_ALIKES)) == len(LOOK_ALIKES)
    allowed = {normalise_origin(ALLOWED), normalise_origin(ALLOWED_LOCAL)}
    assert all(normalise_origin(o) in allowed for o in SAME_ORIGIN)


def simple(client, method, path, body, origin):
    return client.open(path, method=method, json=body, headers={"Origin": wsgi_header(origin)})


def preflight(client, method, path, origin):
    return client.open(path.split("?")[0], method="OPTIONS", headers={
        "Origin": wsgi_header(origin), "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type"})


def assert_refused(response, origin):
    assert response.status_code < 500, (origin, response.status_code)
    assert "Access-Control-Allow-Origin" not in response.headers, (origin, response.headers)
    assert "Access-Control-Allow-Methods" not in response.headers and "Access-Control-Allow-Credentials" not in response.headers
    assert "origin" in {v.strip().lower() for v in response.headers.get("Vary", "").split(",")}, origin


@pytest.mark.parametrize("method, path, body", API_ROUTES, ids=[f"{m} {p.split('?')[0]}" for m, p, _ in API_ROUTES])
def test_look_alike_origins_are_never_allowed(client, method, path, body):
    for origin in LOOK_ALIKES:
        assert_refused(simple(client, method, path, body, origin), origin)
        assert_refused(preflight(client, method, path, origin), origin)
    # two Origin lines, as a client may send them
    for origins in ([ALLOWED, "https://evil.net"], ["https://evil.net", ALLOWED]):
        response = client.open(path, method=method, json=body, headers=[("Origin", o) for o in origins])
        assert response.headers.get("Access-Control-Allow-Origin") in (None, ALLOWED), origins
        assert response.headers.get("Access-Control-Allow-Origin") != "https://evil.net"


def test_look_alikes_that_urlsplit_turns_into_the_allowed_origin_are_refused(client):
    """No serialised origin has a tab in it, and port 0 is another port than 443."""
    allowed = []
    for origin in URLSPLIT_LOOK_ALIKES:
        for method, path, body in API_ROUTES:
            for response in (simple(client, method, path, body, origin), preflight(client, method, path, origin)):
                assert response.status_code < 500
                if "Access-Control-Allow-Origin" in response.headers:
                    allowed.append(f"{origin!r} on {response.request.method} {path}: "
                                   f"ACAO {response.headers['Access-Control-Allow-Origin']!r}")
    assert not allowed, f"{len(allowed)} responses allowed a non-origin:\n" + "\n".join(allowed[:6])


@pytest.mark.parametrize("method, path, body", API_ROUTES, ids=[f"{m} {p.split('?')[0]}" for m, p, _ in API_ROUTES])
def test_the_allowed_origins_get_exactly_their_origin_back(client, method, path, body):
    for origin in (ALLOWED, ALLOWED_LOCAL):
        response = simple(client, method, path, body, origin)
        assert response.status_code < 500
        assert response.headers.get_all("Access-Control-Allow-Origin") == [origin]
        assert "origin" in {v.strip().lower() for v in response.headers["Vary"].split(",")}
        assert "Access-Control-Allow-Credentials" not in response.headers  # no cookies: none are needed
        options = preflight(client, method, path, origin)
        assert options.status_code == 200
        assert options.headers.get_all("Access-Control-Allow-Origin") == [origin]
        assert method in [m.strip() for m in options.headers["Access-Control-Allow-Methods"].split(",")]
        assert "content-type" in options.headers["Access-Control-Allow-Headers"].lower()
        assert "origin" in {v.strip().lower() for v in options.headers["Vary"].split(",")}


@pytest.mark.parametrize("origin", SAME_ORIGIN[1:], ids=repr)
def test_the_same_origin_written_differently_is_the_same_origin(client, origin):
    """RFC 6454: scheme and host are case-insensitive and :443 is https's default port. The answer
    names the origin, either as sent or in its serialised form."""
    canonical = normalise_origin(origin)
    for method, path, body in API_ROUTES:
        response = simple(client, method, path, body, origin)
        assert response.headers.get("Access-Control-Allow-Origin") in (origin, canonical), (origin, path)


def test_no_origin_and_pages_outside_the_api_get_no_cors(client):
    response = client.get("/api/search?q=thymoma&k=1")
    assert "Access-Control-Allow-Origin" not in response.headers
    for method, path in OTHER_ROUTES:
        response = client.open(path, method=method, headers={"Origin": ALLOWED})
        assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response.headers, path


SERIALISED = re.compile(r"https?://(?:[^\s/?#@:\[\]]+|\[[0-9a-f:.]+\])(?::[1-9][0-9]{0,4})?")
URL_LIKE = st.builds(
    lambda scheme, host, port, rest: f"{scheme}://{host}{port}{rest}",
    st.sampled_from(["https", "http", "HTTPS", "HtTp", "ws", "file", "", "https:"]),
    st.one_of(st.sampled_from(["hospital.example.org", "HOSPITAL.example.org", "localhost", "[::1]", "127.0.0.1",
                               "@hospital.example.org", "a@b", "x.y.", "[::1", "\u0445.org"]),
              st.text(max_size=20)),
    st.sampled_from(["", ":", ":0", ":00", ":443", ":80", ":8080", ":65535", ":65536", ":-1", ":abc", ":443:443"]),
    st.sampled_from(["", "/", "//", "?", "#", "/x", "?q", "#f", "@evil.net", " ", "\t", "\x00"]),
)


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.one_of(st.text(max_size=80), URL_LIKE))
@example("https://clinic example.org")  # not a host: RCA_CORS_ORIGINS would take it instead of stopping
@example("https://hospital.example.org:0")  # port 0 is not port 443
def test_normalise_origin_never_raises_and_gives_a_serialised_origin_or_none(origin):
    """The setting's parser relies on it too: "An entry that is not an origin stops the server at start-up"."""
    normalised = normalise_origin(origin)
    if normalised is None:
        return
    parts = urlsplit(origin.strip())
    if parts.port not in (None, {"http": 80, "https": 443}[parts.scheme]):
        assert normalised.endswith(f":{parts.port}"), (origin, normalised)
    assert SERIALISED.fullmatch(normalised), (origin, normalised)
    assert normalised == normalised.strip() and "@" not in normalised and "?" not in normalised
    assert normalise_origin(normalised) == normalised  # idempotent
    scheme, rest = normalised.split("://", 1)
    assert scheme in ("http", "https") and rest and "/" not in rest


# ----------------------------------------------------------------------------------- oversized bodies

POST_ROUTES = {
    "/api/chat": {"session_id": "big", "message": "What is thymoma?"},
    "/webhooks/rest/webhook": {"sender": "big", "message": "What is thymoma?"},
    "/api/feedback": {"session_id": "big", "message_id": "m1", "rating": "down", "comment": "not helpful"},
}


def padded(route: str, size: int) -> bytes:
    """A valid body for the route, padded with an ignored field to exactly `size` bytes."""
    body = dict(POST_ROUTES[route], padding="")
    overhead = len(json.dumps(body).encode())
    body["padding"] = MARKER + "x" * (size - overhead - len(MARKER))
    data = json.dumps(body).encode()
    assert len(data) == size
    return data


SIZES = [MAX_BODY + 1, MAX_BODY + 1000, 4 * MAX_BODY, 1024 * 1024, 8 * 1024 * 1024]


@pytest.mark.parametrize("route", POST_ROUTES)
def test_a_body_of_exactly_the_limit_is_accepted(client, route):
    response = client.post(route, data=padded(route, MAX_BODY), content_type="application/json")
    assert response.status_code == 200, response.get_data()[:300]
    assert MARKER not in response.get_data(as_text=True)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("route", POST_ROUTES)
def test_oversized_bodies_get_413_with_the_error_shape(client, route, size):
    data = padded(route, size)
    for content_type in ("application/json", "application/json; charset=utf-8", "application/vnd.api+json"):
        response = client.post(route, data=data, content_type=content_type)
        assert response.status_code == 413, (content_type, response.status_code)
        assert error_code(response) == "request_entity_too_large"
        assert MARKER not in response.get_data(as_text=True)


def raw_post(app, route: str, data: bytes, content_length: str | None, chunked: bool = False):
    """A POST whose Content-Length is what we say (or absent), which the test client cannot send: it
    always sets the real length. A chunked request comes with `wsgi.input_terminated`, as gunicorn sets it."""
    environ = EnvironBuilder(app, path=route, method="POST", data=data, content_type="application/json").get_environ()
    del environ["CONTENT_LENGTH"]
    if content_length is not None:
        environ["CONTENT_LENGTH"] = content_length
    if chunked:
        environ.update({"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input_terminated": True})
    return app.test_client().open(Request(environ))  # a Request is run as it is; a dict would be rebuilt


def test_oversized_chunked_bodies_without_content_length_get_413(app):
    """Transfer-Encoding: chunked, so no Content-Length: the limit must hold while the body is read,
    whether the bytes past it would make the JSON invalid or are only white space."""
    wrong = []
    for route, size in ((r, size) for r in POST_ROUTES for size in SIZES):
        valid = json.dumps(POST_ROUTES[route]).encode()
        for kind, data in (("padded field", padded(route, size)), ("trailing spaces", valid + b" " * (size - len(valid)))):
            response = raw_post(app, route, data, None, chunked=True)
            if response.status_code != 413:
                wrong.append(f"{route}, {kind}, {size} bytes: {response.status_code} {response.get_data()[:60]!r}")
            else:
                assert error_code(response) == "request_entity_too_large"
            assert MARKER not in response.get_data(as_text=True)
    assert not wrong, f"chunked bodies over {MAX_BODY} bytes not refused with 413:\n" + "\n".join(wrong)


@pytest.mark.parametrize("route", POST_ROUTES)
def test_a_chunked_body_under_the_limit_is_read(app, route):
    assert raw_post(app, route, padded(route, 2000), None, chunked=True).status_code == 200


@pytest.mark.parametrize("route", POST_ROUTES)
def test_content_length_that_lies_never_reads_past_it_or_fails(app, route):
    data = padded(route, 4 * MAX_BODY)
    claims_huge = raw_post(app, route, b"{}", str(10 * MAX_BODY))
    assert claims_huge.status_code == 413 and error_code(claims_huge) == "request_entity_too_large"
    claims_small = raw_post(app, route, data, "100")  # only the first 100 bytes are read: not JSON
    assert claims_small.status_code == 400 and error_code(claims_small) == "invalid_json"
    # neither Content-Length nor chunked: HTTP/1.1 says there is no body
    no_length = raw_post(app, route, data, None)
    assert no_length.status_code == 400 and error_code(no_length) == "invalid_json"
    for bad in ("-1", "abc", "1e3", " 12"):
        response = raw_post(app, route, data, bad)
        assert 400 <= response.status_code < 500, (bad, response.status_code)
        error_code(response)
    for response in (claims_huge, claims_small, no_length):
        assert MARKER not in response.get_data(as_text=True)


@pytest.mark.parametrize("route", POST_ROUTES)
def test_oversized_bodies_of_another_type_are_refused_without_being_read(client, route):
    """A body that is not declared JSON is refused as such (400) before it is read; either way no 5xx."""
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/octet-stream"):
        response = client.post(route, data=b"x" * (4 * MAX_BODY) + MARKER.encode(), content_type=content_type)
        assert response.status_code in (400, 413), (content_type, response.status_code)
        assert error_code(response) in ("invalid_json", "request_entity_too_large")
        assert MARKER not in response.get_data(as_text=True)


# ------------------------------------------------------------------------------------ over-long text

@pytest.mark.parametrize("route, field", [("/api/chat", "message"), ("/webhooks/rest/webhook", "message")])
def test_messages_over_the_limit_get_400_invalid_message(client, route, field):
    base = {k: v for k, v in POST_ROUTES[route].items()}
    for text in (MARKER + "x" * (MAX_CHARS + 1 - len(MARKER)), (MARKER + " word") * 100, "\u00e9" * (MAX_CHARS + 1),
                 "\U0001f600" * (MAX_CHARS + 1), MARKER + "\u0000" * MAX_CHARS):
        assert len(text.strip()) > MAX_CHARS and len(json.dumps(dict(base, **{field: text})).encode()) <= MAX_BODY
        response = client.post(route, json=dict(base, **{field: text}))
        assert response.status_code == 400 and error_code(response) == "invalid_message", text[:20]
        assert MARKER not in response.get_data(as_text=True)
    # the limit itself, and surrounding white space that is not part of the message, are accepted
    for text in ("word " * (MAX_CHARS // 5), "  " + "thymoma " * 124 + "thymoma" + "   \n"):
        assert len(text.strip()) <= MAX_CHARS
        response = client.post(route, json=dict(base, **{field: text}))
        assert response.status_code == 200, response.get_data()[:300]


def test_over_long_search_queries_and_comments_are_refused(client):
    response = client.get("/api/search", query_string={"q": MARKER + "q" * MAX_CHARS})
    assert response.status_code == 400 and error_code(response) == "query_too_long"
    assert MARKER not in response.get_data(as_text=True)
    response = client.post("/api/feedback", json=dict(POST_ROUTES["/api/feedback"], comment=MARKER * 100))
    assert response.status_code == 400 and error_code(response) == "comment_too_long"
    assert MARKER not in response.get_data(as_text=True)


# --------------------------------------------------------------------------------- malformed bodies

def _raw(route: str) -> dict[str, tuple[bytes, str | None]]:
    """Bodies no route accepts, each carrying MARKER where it can: (bytes, content type). Bodies that
    are JSON objects are the route's own, with its text field ('message', or the feedback 'comment')
    replaced by raw bytes."""
    j = "application/json"
    good = POST_ROUTES[route]
    text_field = "comment" if "comment" in good else "message"
    rest = {k: v for k, v in good.items() if k != text_field}
    head = (json.dumps(rest)[:-1] + f', "{text_field}": ').encode()  # '{"session_id": "big", ..., "message": '

    def field(raw: bytes) -> bytes:
        return head + raw + b"}"

    return {
        "not-json": (f"not json {MARKER}".encode(), j),
        "not-json-text-plain": (f"not json {MARKER}".encode(), "text/plain"),
        "json-as-text-plain": (json.dumps(dict(good, **{text_field: MARKER})).encode(), "text/plain"),
        "no-content-type": (json.dumps(dict(good, **{text_field: MARKER})).encode(), None),
        "form-encoded": ("&".join(f"{k}={v}" for k, v in dict(good, **{text_field: MARKER}).items()).encode(),
                         "application/x-www-form-urlencoded"),
        "multipart": (b"--b\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\n" + MARKER.encode()
                      + b"\r\n--b--\r\n", "multipart/form-data; boundary=b"),
        "xml": (f"<chat><message>{MARKER}</message></chat>".encode(), "application/xml"),
        "empty": (b"", j),
        "whitespace": (b" \r\n\t ", j),
        "truncated": (field(f'"{MARKER}'.encode())[:-1], j),
        "trailing-garbage": (field(b'"hi"') + f" {MARKER}".encode(), j),
        "two-documents": (f'{{"message": "{MARKER}"}}{{"message": "{MARKER}"}}'.encode(), j),
        "array": (json.dumps([MARKER, dict(good, **{text_field: MARKER})]).encode(), j),
        "empty-array": (b"[]", j),
        "null": (b"null", j),
        "true": (b"true", j),
        "number": (b"123", j),
        "float": (b"-1.5e308", j),
        "nan": (b"NaN", j),
        "infinity": (b"1e999", j),
        "string": (json.dumps(MARKER).encode(), j),
        "empty-object": (b"{}", j),
        "single-quotes": (f"{{'session_id': 's', 'message': '{MARKER}'}}".encode(), j),
        "comment": (f'{{"session_id": "s", /* {MARKER} */ "message": "hi"}}'.encode(), j),
        "unquoted-keys": (f'{{session_id: "s", message: "{MARKER}"}}'.encode(), j),
        "text-nan": (field(b"NaN"), j),
        "text-huge-integer": (field(b"9" * 5000), j),  # over Python's 4300-digit limit for int()
        "invalid-utf8": (field(b'"\xff\xfe\xc3\x28 ' + MARKER.encode() + b'"'), j),
        "overlong-utf8": (field(b'"\xc0\xaf ' + MARKER.encode() + b'"'), j),
        "utf8-encoded-surrogate": (field(b'"\xed\xa0\x80 ' + MARKER.encode() + b'"'), j),  # json reads it 'surrogatepass'
        "latin1-declared": (field(f'"caf\u00e9 {MARKER} \u00ff"'.encode("latin-1")), "application/json; charset=latin-1"),
        "utf16": (json.dumps(dict(good, **{text_field: MARKER})).encode("utf-16"), j),
        "nested-arrays-100": (b"[" * 100 + json.dumps(MARKER).encode() + b"]" * 100, j),
        "nested-arrays-5000": (b"[" * 5000 + json.dumps(MARKER).encode() + b"]" * 5000, j),
        "nested-objects-2500": (b'{"a":' * 2500 + json.dumps(MARKER).encode() + b"}" * 2500, j),
        "nested-in-text-field-5000": (field(b"[" * 5000 + b"]" * 5000), j),
        "many-keys": (json.dumps({f"k{i}": MARKER for i in range(600)}).encode(), j),
        "nul-bytes": (b"\x00" * 100 + MARKER.encode(), j),
    }


def _fields(route: str) -> dict[str, tuple[bytes, str | None]]:
    """The route's own body with one field made wrong: missing, the wrong type, or an invalid value."""
    good = POST_ROUTES[route]
    bad_values = {"null": None, "int": 5, "float": 1.5, "bool": True, "list": [MARKER], "dict": {"$ne": MARKER},
                  "empty": "", "blank": "  \t\n ", "nul": "\u0000" + MARKER}
    bodies = {}
    for field in good:
        bodies[f"{field}-missing"] = {k: v for k, v in good.items() if k != field}
        for name, value in bad_values.items():
            bodies[f"{field}-{name}"] = dict(good, **{field: value})
    for field in ("session_id", "sender", "message_id"):
        if field in good:
            bodies[f"{field}-too-long"] = dict(good, **{field: MARKER * 20})
            for name, value in {"space": f"{MARKER} x", "newline": f"{MARKER}\n", "slash": f"../{MARKER}",
                                "unicode": f"{MARKER}\u00e9", "quote": f'{MARKER}"<script>'}.items():
                if field != "message_id":
                    bodies[f"{field}-{name}"] = dict(good, **{field: value})
    if "rating" in good:
        bodies["rating-other"] = dict(good, rating=MARKER)
        bodies["rating-upper"] = dict(good, rating="UP")
    return {name: (json.dumps(body).encode(), "application/json") for name, body in bodies.items()}


# Text that is valid JSON but no valid string for Python's text handling: a lone surrogate.
SURROGATES = {
    "message-lone-surrogate": (lambda good: dict(good, message="\ud800 " + MARKER)),
    "comment-lone-surrogate": (lambda good: dict(good, comment="\udfff " + MARKER)),
    "session_id-lone-surrogate": (lambda good: dict(good, session_id="s\ud800" + MARKER)),
    "sender-lone-surrogate": (lambda good: dict(good, sender="s\ud800" + MARKER)),
    "message_id-lone-surrogate": (lambda good: dict(good, message_id="m\udc00" + MARKER)),
}

CASES = [(route, name, data, ctype) for route in POST_ROUTES for name, (data, ctype) in {**_raw(route), **_fields(route)}.items()]
CASES += [(route, name, json.dumps(make(good)).encode(), "application/json")
          for route, good in POST_ROUTES.items() for name, make in SURROGATES.items()
          if name.rsplit("-", 2)[0] in good]


def test_the_malformed_corpus_is_big():
    assert len(CASES) >= 150
    assert all(len(data) <= MAX_BODY for _, _, data, _ in CASES)


@pytest.mark.parametrize("route", POST_ROUTES)
def test_malformed_bodies_get_the_one_error_shape_never_a_5xx_never_an_echo(client, route):
    wrong = []
    cases = [(name, data, ctype) for r, name, data, ctype in CASES if r == route]
    for name, data, content_type in cases:
        headers = {"Content-Type": content_type} if content_type else {}
        response = client.post(route, data=data, headers=headers)
        text = response.get_data().decode("utf-8", errors="replace")
        assert MARKER not in text and MARKER not in str(response.headers), name
        if response.status_code >= 500:
            wrong.append(f"{name}: {response.status_code} {text[:100]}")
            continue
        if response.status_code != 200:
            assert 400 <= response.status_code < 500, name
            error_code(response)
    assert not wrong, f"{len(wrong)} of {len(cases)} malformed bodies got a server error on {route}:\n" + "\n".join(wrong)
