"""Write the public names and parameters of an installed Oxyde package as JSON.

Run it with the released public Oxyde installed (never with this project on the path):

    python3 -m venv /tmp/oxyde-public
    /tmp/oxyde-public/bin/pip install 'oxyde==0.8.*'
    /tmp/oxyde-public/bin/python -I tools/compat_names.py > tests/compat/public_api.json

``tests/compat/test_compat_names.py`` compares the file with this package: every name
exists, and every callable accepts each public parameter the same way.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import json
import sys
from typing import Any

MODULES = (
    "oxyde",
    "oxyde.db",
    "oxyde.models",
    "oxyde.queries",
    "oxyde.migrations",
    "oxyde.exceptions",
)


def parameters(obj: Any) -> list[dict[str, Any]] | None:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return [
        {
            "name": p.name,
            "kind": p.kind.name,
            "default": p.default is not inspect.Parameter.empty,
        }
        for p in signature.parameters.values()
    ]


def own(cls: type) -> list[type]:
    """The classes of ``cls``'s MRO that belong to the package itself."""
    return [k for k in cls.__mro__ if k.__module__.split(".")[0] == "oxyde"]


def members(cls: type) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for klass in reversed(own(cls)):
        for name, raw in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(raw, (staticmethod, classmethod)):
                kind = type(raw).__name__
                params = parameters(raw.__func__)
                if kind == "classmethod" and params:
                    params = params[1:]
            elif isinstance(raw, property):
                kind, params = "property", None
            elif inspect.isfunction(raw):
                kind, params = "method", parameters(raw)
                if params:
                    params = params[1:]  # self
            elif isinstance(raw, type):
                kind, params = "class", None
            else:
                continue  # plain class attributes and pydantic fields
            found[name] = {"kind": kind, "parameters": params}
    return dict(sorted(found.items()))


def describe(value: Any) -> dict[str, Any]:
    if inspect.ismodule(value):
        return {"kind": "module"}
    if isinstance(value, type):
        entry: dict[str, Any] = {
            "kind": "class",
            "bases": [k.__name__ for k in value.__mro__[1:] if k is not object],
            "members": members(value),
        }
        if value.__init__ is not object.__init__ and "BaseModel" not in entry["bases"]:
            init = value.__init__
            if getattr(init, "__module__", "").split(".")[0] == "oxyde":
                params = parameters(init)
                entry["init"] = params[1:] if params else params
        return entry
    if callable(value):
        return {
            "kind": "coroutine function" if inspect.iscoroutinefunction(value) else "function",
            "parameters": parameters(value),
        }
    return {"kind": "value", "type": type(value).__name__}


def main() -> None:
    out: dict[str, Any] = {
        "package": "oxyde",
        "version": importlib.metadata.version("oxyde"),
        "modules": {},
    }
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None)
        if names is None:
            names = [n for n in vars(module) if not n.startswith("_")]
        out["modules"][module_name] = {
            name: describe(getattr(module, name)) for name in sorted(set(names))
        }
    json.dump(out, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
