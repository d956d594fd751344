"""The certificate authority: issue, revoke, publish CRLs, answer OCSP, list certificates.

Adapters call the functions listed here with the `Authority`; each one runs in a transaction of its
own and answers frozen values. The session-taking functions in the modules are for other services
composing one transaction.
"""

from __future__ import annotations

from campusca.services.ca import (
    authorities,
    certificates,
    crls,
    issuance,
    ocsp,
    overview,
    preproduced,
    revocation,
    search,
)
from campusca.services.ca.certificates import (
    CertificateView,
    get_certificate,
    issue_from_csr,
    list_certificates,
)
from campusca.services.ca.crls import CrlDownload, crl_download, current_crl, refresh_crls
from campusca.services.ca.issuance import parse_serial
from campusca.services.ca.ocsp import OcspResult, answer_ocsp
from campusca.services.ca.overview import CertificateCounts, certificate_counts, certificate_of_person
from campusca.services.ca.preproduced import PreproducedAnswers, refresh_interval, serving_answers
from campusca.services.ca.revocation import RevocationResult, parse_reason, revoke_by_serial
from campusca.services.ca.search import (
    CERTIFICATE_SORTS,
    CertificatePage,
    certificate_profiles,
    find_certificates,
)

__all__ = [
    "CERTIFICATE_SORTS",
    "CertificatePage",
    "certificate_profiles",
    "find_certificates",
    "search",
    "CertificateCounts",
    "CertificateView",
    "CrlDownload",
    "OcspResult",
    "PreproducedAnswers",
    "refresh_interval",
    "serving_answers",
    "RevocationResult",
    "answer_ocsp",
    "authorities",
    "certificate_counts",
    "certificate_of_person",
    "certificates",
    "crl_download",
    "crls",
    "current_crl",
    "get_certificate",
    "issuance",
    "issue_from_csr",
    "list_certificates",
    "ocsp",
    "overview",
    "parse_reason",
    "parse_serial",
    "preproduced",
    "refresh_crls",
    "revocation",
    "revoke_by_serial",
]
