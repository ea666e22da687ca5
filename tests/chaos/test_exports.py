"""harness.chaos exports exactly what its __all__ promises."""

from __future__ import annotations

import harness.chaos


def test_every_name_in_all_is_exported_and_public() -> None:
    assert len(set(harness.chaos.__all__)) == len(harness.chaos.__all__)
    for name in harness.chaos.__all__:
        assert hasattr(harness.chaos, name), name
        assert not name.startswith("_"), name


def test_the_experiment_validator_is_registered_for_harness_validate() -> None:
    from harness.slo import file_validators

    validator = file_validators()["ChaosExperiment"]
    assert validator.detect is not None
    assert validator.detect({"title": "x", "method": []}) and not validator.detect({"kind": "SLO", "method": []})
