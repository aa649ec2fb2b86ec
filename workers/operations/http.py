"""`http`: call a URL with a timeout (integrations). Input: `url`, `method`, `headers`, `json` or `body`, `timeout`.

The result is `{"status", "headers", "body"}` (body parsed when JSON). Every request carries an
`Idempotency-Key` header (the job's key) so a partner can recognise a retried call. Unreachable
hosts, timeouts, 429 and 5xx answers are retried; other 4xx are business errors `HTTP_<status>`
the diagram may catch. GUICHET_HTTP_ALLOWED_HOSTS limits the hosts a diagram may call.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from app.services.operations import JobContext, JobError, operation

DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 60.0
MAX_BODY = 256 * 1024
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}


def _allowed(host: str, port: int | None, allowed: str) -> bool:
    entries = [e.strip().lower() for e in (allowed or "").split(",") if e.strip()]
    if not entries:
        return True
    return host.lower() in entries or f"{host.lower()}:{port}" in entries


def _request(ctx: JobContext) -> urllib.request.Request:
    url = ctx.input.get("url")
    if not isinstance(url, str) or not url:
        raise JobError("INVALID_REQUEST", "`url` is required")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise JobError("INVALID_REQUEST", "`url` must be an http(s) URL")
    if not _allowed(parts.hostname, parts.port, str(ctx.config.get("HTTP_ALLOWED_HOSTS", ""))):
        raise JobError("HOST_NOT_ALLOWED", f"{parts.hostname} is not in GUICHET_HTTP_ALLOWED_HOSTS")
    method = str(ctx.input.get("method") or "GET").upper()
    if method not in METHODS:
        raise JobError("INVALID_REQUEST", f"unsupported method {method}")
    headers = {str(k): str(v) for k, v in (ctx.input.get("headers") or {}).items()}
    headers.setdefault("Idempotency-Key", ctx.idempotency_key)
    headers.setdefault("User-Agent", "guichet-worker")
    data = None
    if "json" in ctx.input:
        data = json.dumps(ctx.input["json"]).encode()
        headers.setdefault("Content-Type", "application/json")
    elif ctx.input.get("body") is not None:
        data = str(ctx.input["body"]).encode()
    return urllib.request.Request(url, data=data, headers=headers, method=method)


def _decode(raw: bytes, content_type: str) -> Any:
    text = raw[:MAX_BODY].decode("utf-8", errors="replace")
    if "json" in content_type.lower():
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


@operation("http", retries=3, backoff_seconds=10.0)
def call_http(ctx: JobContext) -> dict[str, Any]:
    """Call the URL; result {status, headers, body}."""
    request = _request(ctx)
    try:
        timeout = min(float(ctx.input.get("timeout") or DEFAULT_TIMEOUT), MAX_TIMEOUT)
    except (TypeError, ValueError):
        raise JobError("INVALID_REQUEST", "`timeout` must be a number of seconds") from None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read(MAX_BODY + 1)
            content_type = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        status = exc.code
        retry = status == 429 or status >= 500
        raise JobError(f"HTTP_{status}", f"{request.get_method()} {request.full_url} answered {status}",
                       retry=retry) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise JobError("HTTP_UNREACHABLE", f"{request.get_method()} {request.full_url}: {reason}",
                       retry=True) from None
    return {"status": status, "headers": {"content-type": content_type}, "body": _decode(raw, content_type)}
