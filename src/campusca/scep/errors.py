"""Errors of the SCEP codec (RFC 8894), split by how the server must answer them.

ScepError
 ├── ScepDecodeError    the pkiMessage cannot be authenticated (bad base64, bad CMS, bad signature,
 │                      missing transactionID/senderNonce): nothing to sign a reply for, answer HTTP 400
 └── ScepRequestError   the signature verified but the request cannot be served (envelope not for us,
                        unsupported algorithm, bad CSR): answer a signed CertRep FAILURE with
                        `fail_info` and `text`, built from `request` (a `RequestHeader`)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from campusca.errors import CampusCAError

if TYPE_CHECKING:
    from campusca.scep.messages import FailInfo, RequestHeader


class ScepError(CampusCAError):
    """Base class of the SCEP codec's errors."""


class ScepDecodeError(ScepError):
    """The pkiMessage cannot be decoded or its signature does not verify (answer HTTP 400)."""


class ScepRequestError(ScepError):
    """An authenticated pkiMessage that must be refused inside the protocol (signed CertRep FAILURE).

    `request` holds the authenticated outer layer (transactionID, senderNonce, signer certificate,
    digest), which is all `build_cert_rep_failure` needs.
    """

    def __init__(self, fail_info: FailInfo, text: str, request: RequestHeader) -> None:
        super().__init__(text)
        self.fail_info = fail_info
        self.text = text
        self.request = request
