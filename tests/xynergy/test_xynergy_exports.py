"""The public surface of ``xynergy`` is exactly its ``__all__``."""

from __future__ import annotations

import xynergy


def test_all_lists_exactly_the_public_names_xynergy_exports() -> None:
    public = {name for name in vars(xynergy) if not name.startswith("_")} - {"annotations"}
    modules = {name for name in public if type(getattr(xynergy, name)).__name__ == "module"}
    assert set(xynergy.__all__) == public - modules
    for name in xynergy.__all__:
        assert getattr(xynergy, name).__doc__ or isinstance(getattr(xynergy, name), (tuple, dict))
