"""Fixtures shared by every test: an initialised CA made once per session and copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from campusca.config import load_settings
from campusca.keys import KeyType
from campusca.services.authority import Authority, open_authority
from campusca.services.demo import add_demo_data
from campusca.services.setup import initialise
from tests.support.ca import CaHome, free_port, write_public_url


@pytest.fixture(scope="session")
def ca_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised RSA CA with the demo institution, made once (key generation is the slow part)."""
    home = tmp_path_factory.mktemp("template") / "home"
    authority, _ = initialise(load_settings(home), org_name="Example University", key_type=KeyType.RSA_2048)
    add_demo_data(authority)
    authority.db.dispose()
    return home


@pytest.fixture
def ca(tmp_path: Path, ca_template: Path) -> CaHome:
    """A private copy of the template CA whose public URL names a free local port."""
    home = tmp_path / "home"
    shutil.copytree(ca_template, home)
    port = free_port()
    write_public_url(home, port)
    return CaHome(home=home, port=port)


@pytest.fixture
def authority(ca: CaHome) -> Iterator[Authority]:
    authority = open_authority(load_settings(ca.home))
    yield authority
    authority.db.dispose()
