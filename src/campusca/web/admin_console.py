"""Every `/admin/` router, so the application registers the administrators' pages in one line."""

from __future__ import annotations

from fastapi import APIRouter

from campusca.web import (
    admin_audit_pages,
    admin_certificate_pages,
    admin_escrow_pages,
    admin_pages,
    admin_people_pages,
    admin_scep_pages,
)

ROUTERS: tuple[APIRouter, ...] = (
    admin_pages.router,
    admin_people_pages.router,
    admin_certificate_pages.router,
    admin_scep_pages.router,
    admin_escrow_pages.router,
    admin_audit_pages.router,
)
