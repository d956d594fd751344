"""`campusca serve` writes no secret into its access log: enrollment links, SCEP messages and bearer
tokens are redacted while the request lines stay readable (issue 9)."""

from __future__ import annotations

import httpx

from tests.support.ca import CaHome, serving

SCEP_MESSAGE = "MIIHSECRETpkcsReq7Xw0Lw"
API_TOKEN = "cca_sEcReTtOkEnvAlUe42"


def test_the_access_log_never_shows_an_enrollment_link_token(ca: CaHome) -> None:
    # Invitations need an https public URL (a TLS proxy in front); the test talks http to the port.
    (ca.home / "campusca.toml").write_text(f'public_url = "https://127.0.0.1:{ca.port}"\n')
    link = str(ca.cli_json("invite", "alice", "--via", "email", "--show")["link"])  # type: ignore[index]
    token = link.rsplit("/", 1)[1]
    with serving(ca) as url:
        page = httpx.get(f"{url}/enroll/{token}")
        assert page.status_code == 200  # the link works: this is a real request for a real invitation
        httpx.get(f"{url}/scep", params={"operation": "PKIOperation", "message": SCEP_MESSAGE})
        refused = httpx.get(f"{url}/api/v1/certificates", headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert refused.status_code == 401
    log = (ca.home / "serve.log").read_text()
    assert '"GET /enroll/[redacted] HTTP/1.1" 200' in log
    assert "/scep?operation=PKIOperation&message=[redacted]" in log
    assert "GET /api/v1/certificates HTTP/1.1" in log  # an access log it is, with every request in it
    for secret in (token, SCEP_MESSAGE, API_TOKEN):
        assert secret not in log
