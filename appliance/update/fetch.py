"""Where releases come from: an https:// (or http://) address, or a file on this machine
(a USB stick, a mounted share). Small files (the index, a signature) go through
appliance.http; the release itself is streamed to disk with the same timeouts.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import requests

from appliance.http import USER_AGENT, TransportError, request, safe_url
from appliance.update.bundle import ReleaseError

TIMEOUT = 30


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def _path(location: str) -> Path:
    return Path(unquote(urlsplit(location).path)) if location.startswith("file://") else Path(location)


def beside(location: str, name: str) -> str:
    """The address of `name` in the same folder as `location`."""
    if is_url(location):
        return urljoin(location, name)
    return str(_path(location).parent / name)


def inside(folder: str, name: str) -> str:
    """The address of `name` inside the folder `folder`."""
    if is_url(folder):
        return urljoin(folder.rstrip("/") + "/", name)
    return str(_path(folder) / name)


def describe(location: str) -> str:
    """A location fit for a log line: no credentials, path or query of a URL."""
    return safe_url(location) if is_url(location) else str(_path(location))


def read_small(location: str, limit: int) -> bytes:
    """The bytes of a small file (an index, a signature), at most `limit` of them."""
    if is_url(location):
        try:
            answer = request("GET", location, timeout=TIMEOUT)
        except TransportError as error:
            raise ReleaseError(str(error)) from None
        if answer.status != 200:
            raise ReleaseError(f"{describe(location)}: answered {answer.status}")
        body = answer.body
    else:
        try:
            with open(_path(location), "rb") as handle:
                body = handle.read(limit + 1)
        except OSError as error:
            raise ReleaseError(f"{_path(location)}: {error.strerror}") from None
    if len(body) > limit:
        raise ReleaseError(f"{describe(location)}: larger than {limit} bytes")
    return body


def download(location: str, target: Path, max_bytes: int) -> int:
    """Copy the release at `location` to `target`; return its size."""
    if not is_url(location):
        source = _path(location)
        try:
            if source.stat().st_size > max_bytes:
                raise ReleaseError(f"{source}: larger than {max_bytes} bytes")
            shutil.copyfile(source, target)
        except OSError as error:
            raise ReleaseError(f"{source}: {error.strerror}") from None
        return target.stat().st_size
    where = safe_url(location)
    size = 0
    try:
        with requests.get(location, headers={"User-Agent": USER_AGENT}, stream=True,
                          timeout=(10, TIMEOUT), allow_redirects=False) as answer:
            if answer.status_code != 200:
                raise ReleaseError(f"{where}: answered {answer.status_code}")
            with open(target, "wb") as handle:
                for chunk in answer.iter_content(1 << 16):
                    size += len(chunk)
                    if size > max_bytes:
                        raise ReleaseError(f"{where}: the release is larger than announced")
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
    except requests.exceptions.Timeout:
        raise ReleaseError(f"{where}: no data for {TIMEOUT} s") from None
    except requests.exceptions.RequestException as error:
        raise ReleaseError(f"{where}: download failed ({type(error).__name__})") from None
    return size
