"""The auth function's domain: accounts, sessions, sign-in protection, the audit trail.

Every route in ``main.py`` calls one function of :mod:`identity.service`. Layers (a module
imports only from layers below it, or beside it when the arrow is drawn here):

* ``service`` — one function per route.
* stores, each the only writer of its collections: ``accounts`` (``users``, ``user_emails``;
  ends sessions through ``sessions`` when a password or an account changes), ``sessions``
  (``sessions`` and the user's ``session_ids``), ``brute_force`` (``login_failures``),
  ``audit`` (``audit_log``).
* rules and adapters: ``password_policy`` (+ ``common_passwords.txt``), ``firebase_tokens``
  (custom tokens for the mobile SDK), ``models`` (request bodies and queries).

The JWTs, password hashing, roles and the principal every function loads are in
``shared.auth``. docs/auth.md has the design.
"""
