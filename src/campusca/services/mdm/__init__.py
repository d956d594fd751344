"""Certificate-only MDM (issue 11): push certificate, check-in, command queue, renewal over MDM, APNs push.

Adapters (web, cli) call the functions exported here: each takes the `Authority`, owns its transaction and
returns frozen views. This package sits above `ota`: it builds the replacement of the enrollment profile
with ota's builders and leaves devices it cannot renew to ota's invitation round.
"""

from __future__ import annotations

from campusca.services.mdm.push_cert import (
    PushCertificateView,
    import_push_certificate,
    push_credentials,
    show_push_certificate,
)

__all__ = [
    "PushCertificateView",
    "import_push_certificate",
    "push_credentials",
    "show_push_certificate",
]
