"""Name → plug-in registries for steps and readers (dolma's taggers, data-juicer's operators).

Built-in plug-ins live in the stage packages and register when their module is imported; the
registry imports them by module name on first lookup, so nothing here depends on a stage package.
A recipe's `[pipeline] plugins = ["my_pkg.my_step"]` imports more modules the same way.
"""
from __future__ import annotations

import importlib

from mmedc.core.errors import MmedcError


class Registry:
    def __init__(self, what: str, builtin_modules: tuple[str, ...]):
        self.what, self.builtin_modules = what, builtin_modules
        self._items: dict[str, object] = {}
        self._loaded = False

    def add(self, name: str, item):
        self._items[name] = item
        return item

    def load(self, modules: tuple[str, ...] | list[str] = ()):
        """Import the built-in plug-in modules (once) and any extra ones."""
        todo = list(modules) + ([] if self._loaded else list(self.builtin_modules))
        self._loaded = True
        for m in todo:
            try:
                importlib.import_module(m)
            except ImportError as e:
                raise MmedcError(f"plug-in module {m!r} cannot be imported: {e}") from None

    def get(self, name: str):
        self.load()
        if name not in self._items:
            raise MmedcError(f"unknown {self.what} {name!r}; known: {', '.join(sorted(self._items))}")
        return self._items[name]

    def names(self) -> list[str]:
        self.load()
        return sorted(self._items)

    def items(self) -> dict:
        self.load()
        return dict(self._items)
