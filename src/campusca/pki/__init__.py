"""Pure X.509: certificate profiles and builders, CSR checks, CRLs, OCSP, CMS and PKCS#12 (no I/O)."""

from campusca.pki.certificates import (
    EndEntityRequest,
    PublicationUrls,
    build_end_entity,
    build_intermediate_ca,
    build_root_ca,
    openssl_serial,
    random_serial,
)
from campusca.pki.crl import RevocationReason, RevokedEntry, build_crl
from campusca.pki.csr import check_csr, load_csr
from campusca.pki.errors import (
    CmsDecodeError,
    CmsDecryptionFailed,
    CmsSignatureInvalid,
    CmsUnsupportedAlgorithm,
    CsrInvalid,
    OcspMalformedRequest,
    PkiError,
    ProfileError,
)
from campusca.pki.ocsp import (
    CertStatus,
    OcspAnswer,
    OcspQuery,
    build_ocsp_error,
    build_ocsp_response,
    parse_ocsp_request,
)
from campusca.pki.profiles import PROFILES, Profile, SanSource, SubjectSource, get_profile
from campusca.pki.signing import RsaDecrypter, Signer

__all__ = [
    "PROFILES",
    "CertStatus",
    "CmsDecodeError",
    "CmsDecryptionFailed",
    "CmsSignatureInvalid",
    "CmsUnsupportedAlgorithm",
    "CsrInvalid",
    "EndEntityRequest",
    "OcspAnswer",
    "OcspMalformedRequest",
    "OcspQuery",
    "PkiError",
    "Profile",
    "ProfileError",
    "PublicationUrls",
    "RevocationReason",
    "RevokedEntry",
    "RsaDecrypter",
    "SanSource",
    "Signer",
    "SubjectSource",
    "build_crl",
    "build_end_entity",
    "build_intermediate_ca",
    "build_ocsp_error",
    "build_ocsp_response",
    "build_root_ca",
    "check_csr",
    "get_profile",
    "load_csr",
    "openssl_serial",
    "parse_ocsp_request",
    "random_serial",
]
