"""Fail fast when an instance starts with unusable configuration.

Each function calls :func:`check_configuration` at import, so a bad setting or a missing
or short signing key stops the instance before it serves anything — with a message naming
the problem in the start-up log — instead of failing request by request.
"""

from __future__ import annotations

from shared.config import Settings, get_settings
from shared.secrets import signing_keys


def check_configuration() -> Settings:
    """Read the settings and the JWT signing key; raise ConfigurationError if unusable."""
    settings = get_settings()
    signing_keys.get(settings)
    return settings
