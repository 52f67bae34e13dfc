"""The one flag the query path reads: is anybody listening for advice?

``on`` is True while the advisor is enabled, or a ``collect()`` block or a test scope is
open anywhere in the process. Every hook in the query layer is ``if switch.on: ...``, so
with the advisor off a query pays one attribute load and one branch.
"""

from __future__ import annotations

on: bool = False
