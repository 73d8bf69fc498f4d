"""Request and response models named in route declarations and imported on first use.

A function declares every route at import, but a cold instance serves one route first (a
GET that validates no body, as often as not). Importing every route's request and response
models before that request costs a few tens of CPU milliseconds of class building on every
cold start; a route may instead name its models through :func:`lazy_models`, and each is
imported when the route first needs it: its first request that validates a query or a body,
or the OpenAPI generator reading the route table. That first request pays the import then
(docs/benchmarks.md, "Hot path").

The usual declaration, typed as if the module were imported::

    if TYPE_CHECKING:
        from vehicle import models as m
    else:
        m = lazy_models("vehicle.models")

    @app.post("/", access=..., body=m.VehicleCreate)
    def create(ctx): return service.create(ctx.body_as(m.VehicleCreate))

mypy sees the real module (names and types are checked as before); at run time ``m.X`` is a
:class:`ModelRef` that imports ``vehicle.models`` the first time it is resolved.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel


class ModelRef:
    """A model class named by its module and attribute, imported when first resolved."""

    __slots__ = ("_model", "module", "name")

    def __init__(self, module: str, name: str) -> None:
        self.module = module
        self.name = name
        self._model: type[BaseModel] | None = None

    def resolve(self) -> type[BaseModel]:
        """The model class (imported on the first call; the import system serialises racers)."""
        model = self._model
        if model is None:
            model = getattr(importlib.import_module(self.module), self.name)
            self._model = model
        return model

    def __repr__(self) -> str:
        return f"ModelRef({self.module}:{self.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelRef) and (other.module, other.name) == (
            self.module,
            self.name,
        )

    def __hash__(self) -> int:
        return hash((self.module, self.name))


class LazyModels:
    """A module's models as :class:`ModelRef` attributes; importing nothing until resolved."""

    __slots__ = ("_module", "_refs")

    def __init__(self, module: str) -> None:
        self._module = module
        self._refs: dict[str, ModelRef] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle and inspect probe dunders: not models
            raise AttributeError(name)
        ref = self._refs.get(name)
        if ref is None:
            ref = self._refs.setdefault(name, ModelRef(self._module, name))
        return ref

    def __repr__(self) -> str:
        return f"LazyModels({self._module})"


def lazy_models(module: str) -> Any:
    """The models of ``module`` (dotted name), each imported on first use; see the module doc.

    Typed ``Any`` because the caller types it as the module itself under ``TYPE_CHECKING``.
    """
    return LazyModels(module)


def resolve(source: type[BaseModel] | ModelRef) -> type[BaseModel]:
    """The model a route declared, eagerly or by reference."""
    return source.resolve() if isinstance(source, ModelRef) else source
