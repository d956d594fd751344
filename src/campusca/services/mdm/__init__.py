"""Certificate-only MDM (issue 11): push certificate, check-in, command queue, renewal over MDM, APNs push.

Adapters (web, cli) call the functions exported here: each takes the `Authority`, owns its transaction and
returns frozen views. This package sits above `ota`: it builds the replacement of the enrollment profile
with ota's builders and leaves devices it cannot renew to ota's invitation round.
"""

from __future__ import annotations

from campusca.services.mdm.checkin import check_in
from campusca.services.mdm.push_cert import (
    PushCertificateView,
    import_push_certificate,
    push_credentials,
    show_push_certificate,
)
from campusca.services.mdm.queue import CommandView, answer_report, list_commands
from campusca.services.mdm.renewal import ROUND_LEASE, ROUND_LEASE_SECONDS, MdmRenewalView, RoundReport
from campusca.services.mdm.renewal import run_once as run_renewal_round

__all__ = [
    "ROUND_LEASE",
    "ROUND_LEASE_SECONDS",
    "CommandView",
    "MdmRenewalView",
    "PushCertificateView",
    "RoundReport",
    "answer_report",
    "check_in",
    "list_commands",
    "run_renewal_round",
    "import_push_certificate",
    "push_credentials",
    "show_push_certificate",
]
