"""The monitoring function's domain: health, this instance, the database, performance.

Every route in ``main.py`` calls one function of :mod:`observability.service`. Layers (a
module imports only from layers below it):

* ``service`` — one function per route; caches what costs Firestore reads.
* readers: ``health_checks`` (Firestore within a deadline), ``database_stats`` (count and
  sum aggregations).
* pure: ``performance`` (merges every instance's metric buckets: shared/metrics.py),
  ``instance`` (this process, psutil), ``ttl_cache``, ``models`` (queries and answers).

The request metrics themselves are recorded by every function in ``shared`` (shared/http.py
times each request, shared/metrics.py keeps and flushes the buckets). docs/monitoring.md
has the design, the answers' shapes and the alerting.
"""
