"""`openai:BASE_URL#MODEL`: any OpenAI-compatible server (llama.cpp, Ollama, vLLM, `transformers serve`).

Requests run concurrently (`concurrency` at a time) over one HTTP session whose adapter retries
connection errors, 429 and 5xx answers with exponential backoff (urllib3's `Retry`). Before
any work the server is asked for its models and for one token, so an unreachable server or an
unknown model fails at once with a message saying what to fix. `/v1/chat/completions` is used;
when the server cannot chat with the model (no chat template), `/v1/completions` is used.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from jamii.evaluate._backends import Backend, BackendError, GenParams

TIMEOUT = 600.0
"""Seconds one request may take (CPU servers are slow)."""


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        err = body.get("error") or body.get("detail") or body
        if isinstance(err, dict):
            err = err.get("message") or err
        return str(err)[:300]
    return str(body)[:300]


def _parse(rest: str, spec: str) -> tuple[str, str]:
    """(base URL without a trailing slash, model) of the part of a spec after `openai:`."""
    base, sep, model = rest.partition("#")
    if not sep or not model or not base.startswith(("http://", "https://")):
        raise BackendError(
            f"bad openai spec {spec!r}: write openai:BASE_URL#MODEL, "
            "e.g. openai:http://127.0.0.1:8080/v1#qwen2.5-0.5b"
        )
    return base.rstrip("/"), model


def _models(base: str) -> list[dict]:
    """The server's model list (`GET /models`; empty when it gives none); fails with the fix
    when the server cannot be reached."""
    try:
        r = requests.get(f"{base}/models", timeout=10)
    except requests.RequestException as exc:
        raise BackendError(
            f"cannot reach an OpenAI-compatible server at {base} ({type(exc).__name__}). "
            "Start it (llama-server, ollama serve, vllm serve, transformers serve) or fix "
            "BASE_URL in openai:BASE_URL#MODEL."
        ) from exc
    if r.status_code == 404 and not base.endswith("/v1"):
        raise BackendError(f"{base}/models answers 404: does BASE_URL need /v1 at its end?")
    if not r.ok:
        return []
    try:
        models = r.json().get("data") or []
    except ValueError:
        return []
    return [m for m in models if isinstance(m, dict)]


def _revision_in(models: list[dict], model_id: str) -> str | None:
    revision = None
    for m in models:
        if m.get("id") == model_id:
            revision = m.get("revision") or None
    return revision


def served_revision(rest: str, spec: str) -> str | None:
    """The revision the server lists for the spec's model (most servers list none), without the
    startup checks of a backend (`identify`)."""
    base, model = _parse(rest, spec)
    return _revision_in(_models(base), model)


class OpenAIBackend(Backend):
    scheme = "openai"
    tasks = frozenset({"generate"})

    def __init__(self, rest: str, *, spec: str, concurrency: int = 8, retries: int = 4, **_):
        base, model = _parse(rest, spec)
        self.spec, self.base, self.model_id = spec, base, model
        self.concurrency = max(1, int(concurrency))
        self.session = requests.Session()
        retry = Retry(
            total=retries, connect=retries, read=retries, backoff_factor=0.5,
            status_forcelist=(429, 500, 502, 503, 504), allowed_methods=None, raise_on_status=False,
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry, pool_maxsize=self.concurrency))
        self.session.mount("https://", HTTPAdapter(max_retries=retry, pool_maxsize=self.concurrency))
        self.api = "chat"
        self.revision = None
        self.served_as = None
        self._check()

    # -- startup checks -------------------------------------------------------------------

    def _check(self) -> None:
        models = _models(self.base)
        listed = [m.get("id") for m in models]
        self.revision = _revision_in(models, self.model_id)
        errors = []
        for api in ("chat", "completions"):
            r = self._post(api, "ok", max_tokens=1, check=False)
            if r.ok:
                self.api = api
                try:
                    self.served_as = r.json().get("model")
                except ValueError:
                    self.served_as = None
                return
            errors.append(f"{api}: HTTP {r.status_code} {_detail(r)}")
            if r.status_code == 404 and "model" not in _detail(r).lower():
                continue
        known = f" The server lists: {', '.join(listed)}." if listed else ""
        raise BackendError(
            f"the server at {self.base} does not serve the model {self.model_id!r}.{known} "
            f"Check MODEL in openai:BASE_URL#MODEL. ({'; '.join(errors)})"
        )

    # -- requests -------------------------------------------------------------------------

    def _post(self, api: str, prompt: str, *, max_tokens: int, check: bool = True) -> requests.Response:
        if api == "chat":
            url = f"{self.base}/chat/completions"
            body = {"messages": [{"role": "user", "content": prompt}]}
        else:
            url = f"{self.base}/completions"
            body = {"prompt": prompt}
        body |= {"model": self.model_id, "max_tokens": max_tokens, "temperature": 0.0, "stream": False}
        try:
            r = self.session.post(url, json=body, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise BackendError(f"request to {url} failed after retries: {exc}") from exc
        if check and not r.ok:
            raise BackendError(f"{url} answered HTTP {r.status_code}: {_detail(r)}")
        return r

    def _one(self, prompt: str, params: GenParams) -> str:
        body = self._post(self.api, prompt, max_tokens=params.max_new_tokens).json()
        choice = body["choices"][0]
        if self.api == "chat":
            return choice["message"].get("content") or ""
        return choice.get("text") or ""

    def describe(self) -> dict:
        return {**super().describe(), "base_url": self.base, "api": self.api, "served_as": self.served_as,
                "concurrency": self.concurrency}

    def generate(self, prompts: Sequence[str], params: GenParams) -> Iterator[list[tuple[int, str]]]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = {pool.submit(self._one, p, params): i for i, p in enumerate(prompts)}
            try:
                for fut in as_completed(futures):
                    yield [(futures[fut], fut.result())]
            finally:
                for fut in futures:
                    fut.cancel()

    def close(self) -> None:
        self.session.close()
