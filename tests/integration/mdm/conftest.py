"""A served campusca with MDM on: an imported push certificate and a local HTTP/2 APNs stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.enrollment.conftest import EnrollmentSite, enrollment_site
from tests.integration.enrollment.conftest import site as site  # noqa: F401 - the same site without MDM
from tests.support.apns import ApnsStandIn, PushCertificateFiles, apns_stand_in, make_push_certificate


@dataclass
class MdmSite:
    """The enrollment site, the APNs stand-in it pushes to, and the push certificate it holds."""

    site: EnrollmentSite
    apns: ApnsStandIn
    push: PushCertificateFiles


@contextmanager
def mdm_site(template: Path, workdir: Path, *, workers: int = 1, **settings: object) -> Iterator[MdmSite]:
    push = make_push_certificate(workdir / "push")
    with (
        apns_stand_in(workdir / "apns", push.issuer_file) as apns,
        enrollment_site(template, workdir, workers=workers, **apns.settings(), **settings) as site,
    ):
        site.ca.cli("mdm", "push-cert", "import", str(push.cert), str(push.key))
        yield MdmSite(site, apns, push)


@pytest.fixture
def mdm(ca_template: Path, tmp_path: Path) -> Iterator[MdmSite]:
    with mdm_site(ca_template, tmp_path) as served:
        yield served
