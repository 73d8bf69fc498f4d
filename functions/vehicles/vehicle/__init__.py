"""The vehicles function's domain: the registry, telemetry, service records, health, alerts.

Every route in ``main.py`` calls one function of :mod:`vehicle.service`, which loads the
vehicle in the caller's scope and calls one store. Layers (a module imports only from
layers below it):

* ``service`` — one function per route.
* ``health`` — the evaluation: reads telemetry and records, runs the rules, publishes.
* stores, each the only writer of its collection: ``store`` (``vehicles``, ``vehicle_vins``),
  ``telemetry_store`` (``telemetry_days``), ``alert_store`` (``alerts`` from findings),
  ``record_store`` (reads ``service_records``; recorded work is written by the shared rule).
* pure rules: ``codec`` (the packed reading format), ``telemetry_quality`` (which readings to
  trust), ``telemetry_tail`` (where stored readings end: the ingest's fast path),
  ``health_rules`` (findings and score), ``vin`` (VIN check digit), ``models``
  (request bodies and queries).

Rules the bookings function shares (completing a service, linking a center, the alert
vocabulary, maintenance forecasts) are in ``shared`` (shared.service_completion,
shared.center_links, shared.alerts, shared.maintenance). docs/vehicles.md has the design.
"""
