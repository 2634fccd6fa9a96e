"""Keyed pseudonyms of identifiers, as the jobs write them when ``fraud.pseudonym_key_file`` is set.

The pseudonym of an id is the first 32 hex digits (128 bits) of HMAC-SHA256(key, id), the key
being the bytes of the key file. The JVM function ``pseudonymise`` (jvm/.../Pseudonymise.java)
computes the same; this is how a holder of the key finds a known card's results.

Example Usage::

    pseudonym(Path("/run/secrets/pseudonym-key").read_bytes(), "4711")
"""

from __future__ import annotations

import hashlib
import hmac


def pseudonym(key: bytes, identifier: str) -> str:
    if not key:
        raise ValueError("the pseudonym key is empty")
    return hmac.new(key, identifier.encode(), hashlib.sha256).hexdigest()[:32]
