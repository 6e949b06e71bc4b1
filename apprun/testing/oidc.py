"""A real OpenID Provider for the OAuth/OIDC sign-in tests, and a headless browser.

``oidc_provider`` (per test, on a process started once per session) runs
``tests/e2e/oidc/provider.mjs`` — panva's ``oidc-provider`` on Node — on 127.0.0.1 and a free
port, and stops it by its PID. ``OpenIdProvider`` registers clients (dynamic registration),
sets the claims of accounts and spoils the next ID token on purpose. ``Browser`` is the user
agent: it follows redirects, fills in the provider's login and consent pages, and hands the
callback to the app under test.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

START_TIMEOUT_SECONDS = 30.0
FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"', re.IGNORECASE)
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', re.IGNORECASE)


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    client_secret: str


class OpenIdProvider:
    """The running provider: its issuer URL and the test controls of ``provider.mjs``."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    async def register(self, redirect_uris: list[str], **metadata: Any) -> RegisteredClient:
        """A new confidential client (``client_secret_basic`` unless ``metadata`` says else)."""
        body = {"redirect_uris": redirect_uris, **metadata}
        async with httpx.AsyncClient(base_url=self.issuer) as http:
            response = await http.post("/reg", json=body)
        assert response.status_code == 201, response.text
        client = response.json()
        return RegisteredClient(client["client_id"], client["client_secret"])

    async def account(self, account_id: str, **claims: Any) -> None:
        """The claims the provider gives ``account_id`` (``email``, ``email_verified``, …)."""
        async with httpx.AsyncClient(base_url=self.issuer) as http:
            response = await http.put(f"/__test/accounts/{account_id}", json=claims)
        assert response.status_code == 204, response.text

    async def tamper(self, mode: str | None) -> None:
        """Spoil the ID token of the next token response: ``wrong_iss``, ``wrong_aud``,
        ``bad_nonce``, ``expired``, ``unknown_kid``, ``bad_signature``, ``no_id_token``."""
        async with httpx.AsyncClient(base_url=self.issuer) as http:
            response = await http.put("/__test/tamper", json={"mode": mode})
        assert response.status_code == 204, response.text


class Browser:
    """A headless user agent between the app (in-process ``app``) and the provider."""

    def __init__(self, app: httpx.AsyncClient, public_url: str) -> None:
        self.app = app
        self.public_url = public_url.rstrip("/")
        self.provider = httpx.AsyncClient(follow_redirects=False, timeout=30)
        self.consents = 0

    async def aclose(self) -> None:
        await self.provider.aclose()

    async def sign_in(
        self,
        authorize: str,
        login: str,
        *,
        headers: dict[str, str] | None = None,
        abort: bool = False,
        post_callback: bool = False,
    ) -> httpx.Response:
        """GET ``authorize`` on the app, sign in at the provider as ``login`` (or cancel there,
        ``abort``), and return the app's answer to the callback (GET, or a form POST)."""
        started = await self.app.get(authorize, headers=headers or {})
        assert started.status_code == 302, started.text
        url = started.headers["location"]
        for _ in range(20):
            if url.startswith(self.public_url):
                return await self._callback(url, post=post_callback)
            response = await self.provider.get(url)
            if response.status_code in (302, 303):
                url = urljoin(url, response.headers["location"])
                continue
            assert response.status_code == 200, f"{url}: {response.status_code} {response.text}"
            target, form = self._form(url, response.text)
            if target.startswith(self.public_url):  # response_mode=form_post
                return await self.app.post(self._app_path(target), data=form)
            url = await self._submit(target, form, login, abort)
        raise AssertionError("the sign-in did not come back to the app")

    def _form(self, url: str, page: str) -> tuple[str, dict[str, str]]:
        action = FORM_ACTION.search(page)
        assert action is not None, f"no form at {url}: {page[:500]}"
        form = {name: unescape(value) for name, value in HIDDEN_INPUT.findall(page)}
        return urljoin(url, unescape(action.group(1))), form

    async def _submit(self, target: str, form: dict[str, str], login: str, abort: bool) -> str:
        if abort:
            response = await self.provider.get(target.rstrip("/") + "/abort")
            return urljoin(target, response.headers["location"])
        if form.get("prompt") == "login":
            form.update(login=login)
            form["password"] = "any password"  # the development login page takes any
        else:
            self.consents += 1
        response = await self.provider.post(target, data=form)
        assert response.status_code in (302, 303), f"{target}: {response.text[:500]}"
        return urljoin(target, response.headers["location"])

    def _app_path(self, url: str) -> str:
        parts = urlsplit(url)
        path = parts.path.removeprefix(urlsplit(self.public_url).path)
        return f"{path}?{parts.query}" if parts.query else path

    async def _callback(self, url: str, *, post: bool) -> httpx.Response:
        if post:
            form = dict(httpx.QueryParams(urlsplit(url).query))
            return await self.app.post(self._app_path(url.split("?", maxsplit=1)[0]), data=form)
        return await self.app.get(self._app_path(url))


def _start(root: Path, log: Path) -> tuple[subprocess.Popen[str], str]:
    with log.open("w") as log_file:
        process = subprocess.Popen(
            ["node", str(root / "provider.mjs")],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_SECONDS)
    line = process.stdout.readline() if ready else ""
    if not line:
        _stop(process)
        raise RuntimeError(f"the test OpenID Provider did not start: {log.read_text()[-2000:]}")
    return process, str(json.loads(line)["issuer"])


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


@pytest.fixture(scope="session")
def _oidc_process(request: pytest.FixtureRequest) -> Iterator[OpenIdProvider]:
    root = Path(request.config.rootpath) / "tests" / "e2e" / "oidc"
    if shutil.which("node") is None or not (root / "node_modules" / "oidc-provider").is_dir():
        message = f"the test OpenID Provider is not installed in {root}: run `make install`"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    with tempfile.TemporaryDirectory(prefix="apprun-oidc-") as tmp:
        process, issuer = _start(root, Path(tmp) / "provider.log")
        try:
            yield OpenIdProvider(issuer)
        finally:
            _stop(process)


@pytest.fixture
def oidc_provider(_oidc_process: OpenIdProvider) -> Iterator[OpenIdProvider]:
    """A real OpenID Provider on 127.0.0.1 (one process per test session)."""
    yield _oidc_process
    # A test that spoiled a token it never fetched must not spoil the next test's.
    httpx.put(f"{_oidc_process.issuer}/__test/tamper", json={"mode": None}).raise_for_status()
