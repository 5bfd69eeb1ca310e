"""Where backbone and text-encoder weights come from, and the one error raised when they cannot be had.

`WeightsUnavailableError` names the case (gated repository / no token, offline / no cache, folder
missing or incomplete) and the fix, so a user never has to decode a hub stack trace.
"""
from __future__ import annotations

import os
from pathlib import Path


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights could not be loaded; the message says why and what to do."""


_FIX_GATED = ("accept Meta's licence on the model page at huggingface.co, create a read token and "
              "`export HF_TOKEN=hf_...` (or `huggingface-cli login`)")
_FIX_FOLDER = ("download once on a machine with access (`huggingface-cli download <repo> --local-dir DIR`, "
               "or tracking/convert_weights.py from timm / Meta files) and set PRETRAIN_TYPE to that folder")
_FIX_OFFLINE = "or fill the hub cache once and run with `HF_HUB_OFFLINE=1`"


def looks_like_path(source: str) -> bool:
    """True when `source` names a local file or folder rather than a hub repository id."""
    return source.startswith((".", "/", "~")) or Path(source).expanduser().exists()


def explain_failure(what: str, source: str, config_key: str, exc: BaseException) -> WeightsUnavailableError:
    """Turn a loading exception into a WeightsUnavailableError naming the case and the fix."""
    text = f"{type(exc).__name__}: {exc}"
    lowered = text.lower()
    path = Path(source).expanduser()
    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False")
    if looks_like_path(source):
        if not path.exists():
            case = f"the folder '{source}' does not exist"
        else:
            case = f"the folder '{source}' is incomplete or not a {what} checkpoint (config or weights missing)"
        fix = f"point {config_key} at a complete folder: {_FIX_FOLDER}"
    elif any(k in lowered for k in ("gated", "401", "403", "access to model", "restricted", "authenticat")):
        case = f"'{source}' is a gated repository and this machine has no accepted access token"
        fix = f"{_FIX_GATED}; or {_FIX_FOLDER}"
    elif offline or any(k in lowered for k in ("offline", "connect", "resolve", "network", "cannot find the requested",
                                               "localentrynotfound", "couldn't connect", "timed out")):
        case = f"the hub is unreachable (offline) and '{source}' is not in the local cache"
        fix = f"{_FIX_FOLDER}, {_FIX_OFFLINE}"
    elif any(k in lowered for k in ("not found", "404", "repositorynotfound", "does not appear")):
        case = f"'{source}' is neither an existing folder nor a repository on the hub"
        fix = f"check the spelling of {config_key}; {_FIX_FOLDER}"
    else:
        case = f"loading '{source}' failed"
        fix = f"{_FIX_GATED}; or {_FIX_FOLDER}, {_FIX_OFFLINE}"
    return WeightsUnavailableError(
        f"{what} weights unavailable ({config_key} = '{source}'): {case}.\nFix: {fix}.\nCause: {text}"
    )


def load_convnext(source: str, arch: dict | None, overrides: dict):
    """Minimal HF-only loader (hub id or folder); the weights engineer extends it to timm / Meta files."""
    from transformers import DINOv3ConvNextModel

    try:
        return DINOv3ConvNextModel.from_pretrained(source, **overrides)
    except Exception as exc:
        raise explain_failure("DINOv3 ConvNeXt", source, "MODEL.ENCODER.PRETRAIN_TYPE", exc) from exc
