"""Fail fast when an instance starts with unusable configuration.

Each function calls :func:`check_configuration` at import, so a bad setting or a missing
or short signing key stops the instance before it serves anything — with a message naming
the problem in the start-up log — instead of failing request by request.
"""

from __future__ import annotations

from shared import logs
from shared.config import Settings, get_settings
from shared.secrets import signing_keys


def check_configuration() -> Settings:
    """Read the settings and the JWT signing key; raise ConfigurationError if unusable."""
    settings = get_settings()
    signing_keys.get(settings)
    if settings.environment == "production" and settings.trusted_proxy_hops == 0:
        # Safe (nobody can choose their address) but coarse: behind Google's front end every
        # caller then shares one address, and so one set of per-IP limits.
        logs.warning(
            "PMI_TRUSTED_PROXY_HOPS is 0: every caller is counted under the front end's "
            "address; set it for this deployment path (docs/operations.md, 'Client IP')"
        )
    return settings
