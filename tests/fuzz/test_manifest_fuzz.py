"""Fuzz: a manifest.json with any field replaced, removed or garbled loads or raises ManifestError."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.runtime.programs import make_manifest
from vps.runtime.manifest import MANIFEST_NAME, Manifest, ManifestError, load_manifest, write_manifest


def _valid_json() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        write_manifest(tmp, make_manifest())
        return json.loads((Path(tmp) / MANIFEST_NAME).read_text())


VALID = _valid_json()

values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of a JSON tree (dict keys and list indices)."""
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(VALID)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=60))  # not JSON at all
    doc = json.loads(json.dumps(VALID))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent = doc
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation changed the tree above this path
    return json.dumps(doc)


# Found by this property (issue 17): "versions", "files" or a graph's "profiles" set to null crashed the
# schema-1 manifest reader with AttributeError, other wrong-typed fields with TypeError. The typed loader
# (vps.config.from_dict) refuses every one of them with a ManifestError naming the key.
@given(mutated())
def test_mutated_manifests_load_or_raise_manifest_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / MANIFEST_NAME).write_text(text)
        try:
            manifest = load_manifest(tmp)
        except ManifestError as e:
            assert MANIFEST_NAME in str(e) and "\n" not in str(e)
        else:
            assert isinstance(manifest, Manifest)
