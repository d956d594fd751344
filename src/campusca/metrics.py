"""Prometheus metrics shared by the services and the web layer (exposed at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter

HTTP_REQUESTS = Counter("campusca_http_requests_total", "HTTP requests served", ["method", "route", "status"])
CERTIFICATES_ISSUED = Counter("campusca_certificates_issued_total", "Certificates issued", ["profile"])
CERTIFICATES_REVOKED = Counter("campusca_certificates_revoked_total", "Certificates revoked", ["reason"])
OCSP_RESPONSES = Counter("campusca_ocsp_responses_total", "OCSP responses sent", ["status"])
# `when`: query (signed on the request path), revocation (pre-produced after the commit), refresh (scheduler).
OCSP_SIGNATURES = Counter("campusca_ocsp_signatures_total", "OCSP answers signed", ["when"])
WRITES_TURNED_AWAY = Counter(
    "campusca_writes_turned_away_total", "Write requests answered 503 by back-pressure", ["reason"]
)
