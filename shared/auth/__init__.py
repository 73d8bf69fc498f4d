"""Authentication and authorisation shared by every function.

- :mod:`shared.auth.tokens` issues and verifies the platform's JWTs.
- :mod:`shared.auth.passwords` hashes and checks passwords (bcrypt).
- :mod:`shared.auth.rbac` names the roles, the permissions and who holds which.
- :mod:`shared.auth.principal` turns a verified token into the caller, checked against the
  user's document (cached per instance for a few seconds, so revocation takes effect
  within that bound, at once on the instance that made it).
- :mod:`shared.auth.scoping` keeps handlers from forgetting ownership checks.
- :mod:`shared.auth.sdk_revocation` ends a user's mobile-SDK sessions (Firebase refresh
  tokens and the revocation time firestore.rules checks).
"""
