"""PMI's common core, imported by every Cloud Function.

The public surface is small on purpose: a function builds an :class:`shared.http.App`,
declares its routes with the access rule and pydantic models they need, and leaves the
cross-cutting work (request ids, structured logs, CORS, rate limiting, authentication,
permissions, validation, the one error envelope, compression) to this package.
"""

__all__ = ["__version__"]

# The platform version reported by /health; a deploy may override it with PMI_VERSION.
__version__ = "0.1.0"
