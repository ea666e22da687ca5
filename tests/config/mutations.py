"""Hypothesis strategies shared by the property tests: arbitrary values and mutated documents."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

#: Any JSON/YAML-shaped value, small: scalars of every type a loader may meet, nested a little.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["off", "on", "yes", "no", "20s", "0s", "-1s", "1h", "lt", "gte", "auto", "", "edge", "ratio(not ok)"])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def mutated(draw: st.DrawFn, document: Any, max_mutations: int = 3) -> Any:
    """`document` with up to `max_mutations` random edits: replace, delete or add at a random path."""
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=1, max_value=max_mutations))):
        parent: Any = None
        key: Any = None
        node = doc
        while isinstance(node, (dict, list)) and node and draw(st.integers(0, 3)) > 0:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            parent, key = node, draw(st.sampled_from(keys))
            node = node[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if parent is None:
            if action == "replace":
                doc = draw(values)
            elif isinstance(doc, dict):
                doc[draw(st.text(max_size=8))] = draw(values)
            continue
        if action == "replace":
            parent[key] = draw(values)
        elif action == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(values)
        else:
            parent.insert(key, draw(values))
    return doc
