"""Gzip for JSON responses large enough to be worth it.

Below about 1 KB the gzip header and CPU cost outweigh the bytes saved, so small bodies
go out as they are.
"""

from __future__ import annotations

import gzip

MIN_COMPRESSIBLE_BYTES = 1024
# Level 5 gets most of level 9's ratio on JSON for a fraction of the CPU.
GZIP_LEVEL = 5


def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when the client lists gzip (or *) without refusing it with q=0."""
    if not accept_encoding:
        return False
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            quality = params.strip().replace(" ", "")
            return quality not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def maybe_gzip(body: bytes, accept_encoding: str | None) -> bytes | None:
    """The gzipped body, or None when it should be sent as is."""
    if len(body) < MIN_COMPRESSIBLE_BYTES or not accepts_gzip(accept_encoding):
        return None
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
