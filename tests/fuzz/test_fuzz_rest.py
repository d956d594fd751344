"""REST (every route of the OpenAPI document): random path ids, query values and JSON bodies, with and
without credentials, never answer 5xx."""

from __future__ import annotations

import base64
import re
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.site import FuzzSite, fuzz_settings
from tests.support.ca import make_csr

pytestmark = pytest.mark.fuzz

METHODS = ("get", "post", "put", "patch", "delete")
PARAMETER = re.compile(r"{([^}:]+)(?::path)?}")
WORDS = [
    "alice", "bob", "mary", "rita", "admin", "nobody", "Physics", "Example University",
    "device", "server", "smime-signing", "smime-encryption", "keyCompromise", "certificateHold",
    "sms", "email", "lost-key", "legal", "simple", "quorum", "pending", "issued", "valid", "revoked",
]  # fmt: skip
IDS = ["99999999999999999999", "9223372036854775808", "9223372036854775807", "0", "-1", "1", "2", "1e3"]
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)  # httpx refuses to encode the others
    | st.text(max_size=60)
    | st.sampled_from(WORDS + IDS)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=10,
)


def _operations(site: FuzzSite) -> list[tuple[str, str, list[str], list[str]]]:
    """(method, path template, query parameter names, body property names) for every documented route."""
    components = site.openapi.get("components", {}).get("schemas", {})  # type: ignore[union-attr]
    found = []
    for path, item in site.openapi["paths"].items():  # type: ignore[union-attr]
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            query = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]
            found.append((method.upper(), path, query, _body_properties(operation, components)))
    return found


def _body_properties(operation: dict, components: dict) -> list[str]:  # type: ignore[type-arg]
    schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    return list(components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}))


def _credentials(site: FuzzSite) -> list[dict[str, str]]:
    """Mostly bearer tokens (cheap); HTTP Basic costs an argon2 verify, so it is one draw in ~15."""
    basic = [("alice", "campusca-demo"), ("rita", "campusca-demo"), ("rita", "wrong"), ("é", "x")]
    cheap = [
        {},
        *({"Authorization": f"Bearer {token}"} for token in site.tokens.values()),
        {"Authorization": "Bearer cca_not-a-token"},
        {"Authorization": "Basic !!!"},
    ]
    costly = [{"Authorization": "Basic " + base64.b64encode(f"{u}:{p}".encode()).decode()} for u, p in basic]
    return cheap * 10 + costly


@st.composite
def requests(draw: st.DrawFn, site: FuzzSite) -> tuple[str, str, dict[str, object]]:
    method, template, query, properties = draw(st.sampled_from(_operations(site)))
    path_value = st.sampled_from(WORDS + IDS + [f"{site.existing_serial:x}"]) | st.text(max_size=40)
    path = PARAMETER.sub(lambda _: quote(draw(path_value), safe=""), template)
    options: dict[str, object] = {"headers": dict(draw(st.sampled_from(_credentials(site))))}
    if query:
        names = draw(st.lists(st.sampled_from(query), max_size=len(query), unique=True))
        options["params"] = {
            name: draw(st.text(max_size=30) | st.sampled_from(WORDS + IDS)) for name in names
        }
    if method in ("POST", "PUT", "PATCH"):
        kind = draw(st.sampled_from(["shaped", "shaped", "any", "bytes", "none"]))
        if kind == "shaped" and properties:
            names = draw(st.lists(st.sampled_from(properties), max_size=len(properties), unique=True))
            options["json"] = {name: draw(_property_value(name)) for name in names}
        elif kind == "bytes":
            options["content"] = draw(st.binary(max_size=200))
            options["headers"]["Content-Type"] = "application/json"  # type: ignore[index]
        elif kind != "none":
            options["json"] = draw(JSON_VALUES)
    return method, path, options


def _property_value(name: str) -> st.SearchStrategy[object]:
    if name == "csr":
        return st.just(make_csr(cn="fuzz-rest")[1].decode()) | JSON_VALUES
    return JSON_VALUES


def test_rest_routes_never_answer_5xx(fuzz_site: FuzzSite) -> None:
    @given(request=requests(fuzz_site))
    @fuzz_settings(3)
    def send(request: tuple[str, str, dict[str, object]]) -> None:
        method, path, options = request
        fuzz_site.send("rest", method, path, **options)

    send()
    fuzz_site.assert_target_clean("rest")
