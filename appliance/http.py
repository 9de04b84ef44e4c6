"""The one door for outbound HTTP: a request with a timeout, and an error that says
whether trying again later can help.

Messages never carry the URL's query string or credentials (an enrolment token or an
API key could be in them): only the scheme, host and port appear in errors and logs.
"""

from __future__ import annotations

import email.utils
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping
from urllib.parse import urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from appliance import __version__ as VERSION

USER_AGENT = f"epn-appliance/{VERSION}"
# A hub's answer is a small JSON summary; anything larger is cut, not kept in memory.
MAX_ANSWER_BYTES = 64 * 1024


class TransportError(Exception):
    """The request got no HTTP answer. `permanent`: retrying cannot help (a bad URL);
    `retry_after`: seconds the other side asked us to wait, when known."""

    def __init__(self, message: str, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str] = field(default_factory=CaseInsensitiveDict)
    body: bytes = b""

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def text(self, limit: int = 2000) -> str:
        return self.body[:limit].decode("utf-8", errors="replace")

    def retry_after(self, now: datetime | None = None) -> float | None:
        return parse_retry_after(self.headers.get("Retry-After"), now)


def safe_url(url: str) -> str:
    """The URL without credentials, path, query or fragment: fit for a log line."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _read(response: requests.Response) -> bytes:
    body = bytearray()
    for chunk in response.iter_content(8192):
        body.extend(chunk)
        if len(body) >= MAX_ANSWER_BYTES:
            return bytes(body[:MAX_ANSWER_BYTES])
    return bytes(body)


def request(method: str, url: str, body: bytes | None = None,
            headers: Mapping[str, str] | None = None, timeout: float = 20) -> Response:
    """Send one request (no redirects followed) and return the answer, whatever its status.

    Raises TransportError when no answer came: permanent for a malformed URL, temporary
    for refused connections, timeouts, TLS and other network errors.
    """
    where = safe_url(url)
    sent_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    try:
        with requests.request(method, url, data=body, headers=sent_headers, stream=True,
                              timeout=(min(timeout, 10), timeout), allow_redirects=False) as answer:
            return Response(answer.status_code, CaseInsensitiveDict(answer.headers), _read(answer))
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema, requests.exceptions.InvalidHeader):
        raise TransportError(f"{where}: not a usable URL", permanent=True) from None
    except requests.exceptions.Timeout:
        raise TransportError(f"{where}: no answer within {timeout:g} s") from None
    except requests.exceptions.SSLError:
        raise TransportError(f"{where}: TLS error (certificate or protocol)") from None
    except requests.exceptions.ConnectionError:
        raise TransportError(f"{where}: cannot connect") from None
    except requests.exceptions.RequestException as error:
        raise TransportError(f"{where}: {type(error).__name__}") from None


def post(url: str, body: bytes, headers: Mapping[str, str] | None = None,
         timeout: float = 20) -> Response:
    """POST `body` as it is (the exact bytes: a signature covers them)."""
    return request("POST", url, body=body, headers=headers, timeout=timeout)
