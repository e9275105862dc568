"""A bad PHOTOSORTER_NUMERIC_MODE is the user's setting to fix (exit 2 naming it), not a bug (exit 1)."""

from __future__ import annotations

import pytest

from photosorter import errors
from photosorter.ml import numerics


def test_unknown_mode_in_the_environment_is_a_usage_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv("PHOTOSORTER_NUMERIC_MODE", "fp64")
    with pytest.raises(errors.UsageError) as info:
        numerics.choose_mode(None, "tiny")
    assert "PHOTOSORTER_NUMERIC_MODE" in str(info.value) and "'fp64'" in str(info.value)
    with pytest.raises(errors.UsageError):
        numerics.choose_mode("half", "tiny")  # a caller's explicit mode: same branch of the tree
