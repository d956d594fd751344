"""The ota and smime packages export, for adapters, only functions that own their transaction."""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

from campusca.services import ota, smime

# Pure functions of their inputs: no database, so no authority either.
_NO_STORAGE = {"decrypt_message"}


def _exported_functions(package: ModuleType) -> list[tuple[str, object]]:
    return [
        (name, value)
        for name in package.__all__
        if inspect.isfunction(value := getattr(package, name)) and name not in _NO_STORAGE
    ]


@pytest.mark.parametrize("package", [ota, smime], ids=["ota", "smime"])
def test_every_exported_function_takes_the_authority_and_no_session(package: ModuleType) -> None:
    functions = _exported_functions(package)
    assert len(functions) >= 10
    for name, function in functions:
        parameters = list(inspect.signature(function).parameters)  # type: ignore[arg-type]
        assert parameters[0] == "authority", name
        assert "session" not in parameters, name


@pytest.mark.parametrize("package", [ota, smime], ids=["ota", "smime"])
def test_every_name_in_all_exists(package: ModuleType) -> None:
    assert all(hasattr(package, name) for name in package.__all__)
    assert len(set(package.__all__)) == len(package.__all__)
