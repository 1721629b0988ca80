"""Asset versions, byte-identical to the control plane's (DESIGN.md "Versions")."""

import hashlib
import struct
from typing import Iterable, Optional, Union

FRAMED = "FRAMED"
MARIE_COMPAT = "MARIE_COMPAT"

_Text = Optional[Union[str, bytes]]


def _utf8(value: _Text) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else value.encode("utf-8")


def _frame(h: "hashlib._Hash", data: bytes) -> None:
    h.update(struct.pack(">Q", len(data)))
    h.update(data)


def compute_asset_version(
    payload_bytes: _Text,
    code_fingerprint: _Text = None,
    prompt_fingerprint: _Text = None,
    upstream_versions: Optional[Iterable[str]] = None,
    scheme: str = FRAMED,
) -> str:
    """`v:sha256:<hex>` of the payload, code and prompt fingerprints and upstream versions.

    FRAMED (default) frames every field with its 8-byte big-endian length, so no two
    inputs collide; MARIE_COMPAT is the Marie-AI tracker's concatenation, for mixed fleets.
    """
    payload = _utf8(payload_bytes)
    code = _utf8(code_fingerprint)
    prompt = _utf8(prompt_fingerprint)
    upstream = list(upstream_versions or [])
    h = hashlib.sha256()
    if scheme == FRAMED:
        h.update(b"marie-asset-version/2\0")
        for field in (payload, code, prompt):
            _frame(h, field)
        distinct = sorted({v.encode("utf-8") for v in upstream})
        h.update(struct.pack(">Q", len(distinct)))
        for v in distinct:
            _frame(h, v)
    elif scheme == MARIE_COMPAT:
        if payload:
            h.update(payload)
        h.update(code)
        if prompt:
            h.update(prompt)
        if upstream:
            h.update("|".join(sorted(upstream)).encode("utf-8"))
    else:
        raise ValueError("scheme must be FRAMED or MARIE_COMPAT, got %r" % (scheme,))
    return "v:sha256:" + h.hexdigest()
