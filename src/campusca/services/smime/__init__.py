"""S/MIME for people: issuance with escrow, the public directory, messages, escrow policy and key recovery.

Adapters (web, cli) call the functions exported here: each takes the `Authority`, owns its transaction
and returns frozen views. The submodules' session-taking functions are for services composing one
transaction (the re-key after a recovery, for instance).
"""

from __future__ import annotations

from campusca.services.smime import (
    custody,
    escrow_admin,
    escrow_keys,
    escrow_policy,
    issue,
    lookup,
    messages,
    recovery,
    recovery_release,
    signing_reissue,
)
from campusca.services.smime.custody import KeyCustodyView, key_custody_of
from campusca.services.smime.escrow_admin import (
    add_escrow_agent,
    agent_passphrases_needed,
    escrow_overview,
    set_escrow_policy,
)
from campusca.services.smime.escrow_policy import EscrowKeyView, EscrowScopeView
from campusca.services.smime.issue import SmimeBundle, issue_smime_bundle
from campusca.services.smime.lookup import DirectoryEntry, directory_certificate_der, directory_entries
from campusca.services.smime.messages import decrypt as decrypt_message
from campusca.services.smime.messages import encrypt as encrypt_message
from campusca.services.smime.messages import sign as sign_message
from campusca.services.smime.messages import verify as verify_message
from campusca.services.smime.recovery import APPROVED as RECOVERY_APPROVED
from campusca.services.smime.recovery import LEGAL as LEGAL_RECOVERY
from campusca.services.smime.recovery import STATUSES as RECOVERY_STATUSES
from campusca.services.smime.recovery import RecoveryView, request_recovery
from campusca.services.smime.recovery import approve as approve_recovery
from campusca.services.smime.recovery import get_request as get_recovery_request
from campusca.services.smime.recovery import list_requests as list_recovery_requests
from campusca.services.smime.recovery import reject as reject_recovery
from campusca.services.smime.recovery_queue import QueueItem, own_recoveries, recovery_queue
from campusca.services.smime.recovery_release import (
    LegalRelease,
    LostKeyRelease,
    release_legal,
    release_lost_key,
)
from campusca.services.smime.recovery_release import close_case as close_legal_case
from campusca.services.smime.self_service import (
    EscrowOutlook,
    PasswordStrength,
    escrow_outlook,
    judge_pkcs12_password,
)
from campusca.services.smime.signing_reissue import SigningReissue, reissue_signing

__all__ = [
    "custody",
    "key_custody_of",
    "LEGAL_RECOVERY",
    "RECOVERY_APPROVED",
    "RECOVERY_STATUSES",
    "DirectoryEntry",
    "EscrowOutlook",
    "PasswordStrength",
    "QueueItem",
    "KeyCustodyView",
    "EscrowKeyView",
    "EscrowScopeView",
    "LegalRelease",
    "LostKeyRelease",
    "RecoveryView",
    "SigningReissue",
    "SmimeBundle",
    "add_escrow_agent",
    "agent_passphrases_needed",
    "approve_recovery",
    "close_legal_case",
    "decrypt_message",
    "directory_certificate_der",
    "directory_entries",
    "encrypt_message",
    "escrow_admin",
    "escrow_keys",
    "escrow_outlook",
    "escrow_overview",
    "escrow_policy",
    "get_recovery_request",
    "issue",
    "issue_smime_bundle",
    "judge_pkcs12_password",
    "list_recovery_requests",
    "lookup",
    "messages",
    "own_recoveries",
    "recovery",
    "recovery_queue",
    "recovery_release",
    "reissue_signing",
    "reject_recovery",
    "release_legal",
    "release_lost_key",
    "request_recovery",
    "set_escrow_policy",
    "sign_message",
    "signing_reissue",
    "verify_message",
]
