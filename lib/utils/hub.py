"""Is the Hugging Face hub reachable? Found once per process, so an offline machine fails at once.

Without network, huggingface_hub retries every request with backoff (minutes per model) before the
cache is consulted. `hub_reachable()` answers from the offline flags (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE)
or one short TCP probe of the hub's host; `cache_only()` then makes the hub client read its cache only.
"""
from __future__ import annotations

import functools
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

PROBE_TIMEOUT_S = 3.0
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


def offline_flag() -> bool:
    """Whether the user asked for offline hub access (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE set to a true value)."""
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(f.strip().lower() in ("1", "true", "yes", "on") for f in flags)


@functools.cache
def _probe(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S).close()
        return True
    except OSError:
        return False


def hub_reachable() -> bool:
    """False when offline mode is set or the hub's host (HF_ENDPOINT) does not answer; probed once per process.

    Behind a proxy the probe cannot tell, so the hub client is left to try.
    """
    if offline_flag():
        return False
    if any(os.environ.get(k) for k in _PROXY_VARS):
        return True
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    return _probe(url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443))


@contextmanager
def cache_only(enabled: bool = True) -> Iterator[None]:
    """While `enabled`, huggingface_hub serves files from its cache only: no request, no retries."""
    if not enabled:
        yield
        return
    from huggingface_hub import constants

    old = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True  # read on every call by huggingface_hub.is_offline_mode()
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = old
