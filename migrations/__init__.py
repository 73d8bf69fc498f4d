"""Numbered, idempotent data migrations for Firestore, and the engine that runs them.

Firestore has no schema, so a data change ships as a file ``migrations/NNN_name.py`` that
defines ``MIGRATION``, an instance of :class:`migrations.base.DocumentMigration`: the
collection it pages through and, per document, the field changes that bring it to the
current shape (nothing when it already is). ``python scripts/migrate.py`` (``make
migrate``) dry-runs them; ``--apply`` applies the pending ones in order, recording each in
``schema_migrations/{id}``. docs/operations.md ("Data migrations") says how they fit a
release; :mod:`migrations.runner` how a run stays atomic per document and resumable.
"""
