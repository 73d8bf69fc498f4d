"""The bookings function's domain: centers, capacity, the booking lifecycle, suggestions.

Every route in ``main.py`` calls one function of :mod:`booking.service`, which checks what
needs no lock and calls one store. Layers (a module imports only from layers below it):

* ``service`` — one function per route: parse-free checks, then one store call.
* stores, each the only writer of its collections: ``store`` (``bookings``: every booking
  transaction and listing), ``centers`` (``centers``, availability), ``capacity`` (``slots``
  and ``booking_holders``, staged inside store's transactions), ``idempotency``
  (``booking_idempotency``), ``suggestions`` (reads ``alerts`` and ``vehicles``).
* pure rules: ``scheduling`` (calendars, slots, DST; its pydantic models in
  ``calendar_models``, loaded on first use), ``lifecycle`` (states, actions, who may act),
  ``views`` (the stored booking and its JSON), ``models`` (request bodies and queries;
  ``list_query`` holds GET /'s query apart, so the list builds no other model).

Rules the vehicles function shares (completing a service, linking a center to a vehicle)
are in ``shared`` (shared.service_completion, shared.center_links). docs/bookings.md has
the design.
"""
