"""Names of a package imported on first use, so that importing the package stays cheap.

A package's ``__init__`` maps each public name to the module that defines it and
hands the two functions this module makes to Python (PEP 562)::

    __getattr__, __dir__ = lazy_names(__name__, {"load_model": "screening.scoring._model"}, globals())
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, names: Mapping[str, str], namespace: dict[str, Any]
               ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` that imports ``names[name]`` on first use (and keeps the value), and its ``__dir__``."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted([*namespace, *names])

    return __getattr__, __dir__
