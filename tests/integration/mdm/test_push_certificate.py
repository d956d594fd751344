"""The administrator imports Apple's MDM push certificate; campusca pushes to a device through APNs with it."""

from __future__ import annotations

import json
from pathlib import Path

from campusca.config import load_settings
from campusca.services import mdm
from campusca.services.authority import open_authority
from campusca.services.mdm.apns import PushTarget, send_pushes
from tests.support.apns import apns_stand_in, make_push_certificate
from tests.support.ca import CaHome


def test_the_push_certificate_is_imported_shown_and_its_uid_is_the_topic(ca: CaHome, tmp_path: Path) -> None:
    push = make_push_certificate(tmp_path / "push")
    imported = ca.cli_json("mdm", "push-cert", "import", str(push.cert), str(push.key))
    assert imported["topic"] == push.topic and imported["warnings"] == []
    shown = ca.cli_json("mdm", "push-cert", "show")
    assert shown["topic"] == push.topic and shown["fingerprint_sha256"] == imported["fingerprint_sha256"]
    audit = ca.cli("audit", "list", "--json").stdout
    assert "mdm.push_certificate.imported" in audit
    assert push.key.read_text().splitlines()[1] not in audit  # the key never reaches the audit trail


def test_show_warns_when_the_push_certificate_expires_soon(ca: CaHome, tmp_path: Path) -> None:
    push = make_push_certificate(tmp_path / "push", days=10)
    ca.cli("mdm", "push-cert", "import", str(push.cert), str(push.key))
    shown = ca.cli("mdm", "push-cert", "show")
    assert "warning: the push certificate expires in" in shown.stdout


def test_import_refuses_a_key_of_another_certificate_and_a_changed_topic(ca: CaHome, tmp_path: Path) -> None:
    first, other = make_push_certificate(tmp_path / "a"), make_push_certificate(tmp_path / "b")
    mismatched = ca.cli("mdm", "push-cert", "import", str(first.cert), str(other.key), check=False)
    assert (
        mismatched.returncode == 1 and "push key does not belong to the push certificate" in mismatched.stderr
    )
    ca.cli("mdm", "push-cert", "import", str(first.cert), str(first.key))
    changed = ca.cli("mdm", "push-cert", "import", str(other.cert), str(other.key), check=False)
    assert changed.returncode == 1 and "Topic must stay" in changed.stderr
    assert ca.cli("mdm", "push-cert", "show", check=False).returncode == 0


def test_show_without_a_push_certificate_says_mdm_is_off(ca: CaHome) -> None:
    result = ca.cli("mdm", "push-cert", "show", check=False)
    assert result.returncode == 1 and "no MDM push certificate" in result.stderr


def test_a_push_reaches_the_gateway_over_http2_with_topic_type_and_push_magic(
    ca: CaHome, tmp_path: Path
) -> None:
    push = make_push_certificate(tmp_path / "push")
    ca.cli("mdm", "push-cert", "import", str(push.cert), str(push.key))
    with apns_stand_in(tmp_path / "apns", push.issuer_file) as gateway:
        settings = load_settings(ca.home, **gateway.settings())
        authority = open_authority(settings)
        try:
            credentials = mdm.push_credentials(authority)
            assert credentials is not None
            results = send_pushes(settings, credentials, [PushTarget("a1b2c3", "magic-1")])
        finally:
            authority.db.dispose()
    assert [r.status for r in results] == ["sent"]
    (received,) = gateway.pushes
    assert received["method"] == "POST" and received["path"] == "/3/device/a1b2c3"
    assert received["http_version"] == "2"
    assert received["topic"] == push.topic and received["push_type"] == "mdm"
    assert json.loads(received["body"]) == {"mdm": "magic-1"}
