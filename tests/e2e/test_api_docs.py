"""The API reference at /v1/docs: served from the bundle with a strict CSP, no token
needed, and nothing on the page comes from another origin."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from tests.builders import assert_error

APIDOCS = Path(__file__).resolve().parents[2] / "chalicelib" / "apidocs"


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.refs.append((tag, value))
            assert not name.startswith("on"), f"inline handler {name} on <{tag}>"
            assert name != "style", f"inline style on <{tag}>"
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def csp(answer) -> dict[str, set[str]]:
    directives = [part.split() for part in answer.headers["content-security-policy"].split(";") if part.strip()]
    return {name: set(values) for name, *values in directives}


def test_the_page_is_served_without_a_token_with_a_strict_csp(client):
    page = client.get("/v1/docs")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "swagger-ui" in page.text
    policy = csp(page)
    assert policy["default-src"] == {"'none'"}
    assert policy["script-src"] == {"'self'"} and policy["style-src"] == {"'self'"}
    assert policy["img-src"] == {"'self'", "data:"} and policy["connect-src"] == {"'self'"}
    assert policy["frame-ancestors"] == {"'none'"}
    assert not any("unsafe" in value for values in policy.values() for value in values)


def test_the_page_references_only_assets_of_this_api_and_no_external_url(client):
    page = client.get("/v1/docs")
    parser = _References()
    parser.feed(page.text)
    assert parser.inline_scripts == 0
    assert {tag for tag, _ in parser.refs} == {"link", "script"}
    assert not re.search(r"(https?:)?//", page.text)
    page_url = "http://api.test/v1/docs"
    for _, ref in parser.refs:
        url = urlsplit(urljoin(page_url, ref))
        assert url.netloc == "api.test", ref
        asset = client.get(url.path)
        assert asset.status_code == 200, (ref, asset.body[:200])


@pytest.mark.parametrize(
    ("asset", "file", "media_type"),
    [
        ("swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
        ("swagger-ui.css", "swagger-ui/swagger-ui.css", "text/css; charset=utf-8"),
        ("docs.js", "docs.js", "text/javascript; charset=utf-8"),
    ],
)
def test_each_asset_is_the_shipped_file_with_its_media_type(client, asset, file, media_type):
    answer = client.get(f"/v1/docs/{asset}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == media_type
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.body == (APIDOCS / file).read_bytes()


def test_the_page_script_loads_this_apis_document_and_posts_it_nowhere(client):
    script = client.get("/v1/docs/docs.js").text
    assert 'url: "openapi.json"' in script and "validatorUrl: null" in script
    assert not re.search(r"https?://", script)
    assert client.get("/v1/openapi.json").status_code == 200


@pytest.mark.parametrize("asset", ["LICENSE", "VERSION.md", "index.html", "swagger-ui-bundle.js.map", "..%2Fdocs.js"])
def test_only_the_listed_assets_are_served(client, asset):
    assert_error(client.get(f"/v1/docs/{asset}"), 404, "not_found")


def test_the_shipped_assets_keep_their_license_and_version_note():
    shipped = {path.name for path in (APIDOCS / "swagger-ui").iterdir()}
    assert {"LICENSE", "NOTICE", "VERSION.md", "swagger-ui-bundle.js.LICENSE.txt"} <= shipped
    assert "Apache License" in (APIDOCS / "swagger-ui" / "LICENSE").read_text(encoding="utf-8")
    assert "swagger-ui-dist` 5.35.0" in (APIDOCS / "swagger-ui" / "VERSION.md").read_text(encoding="utf-8")
