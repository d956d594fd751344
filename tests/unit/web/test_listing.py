"""The admin lists' query parameters: bad values fall back to defaults, links keep the filters, sorting toggles."""

from __future__ import annotations

from campusca.web.listing import PER_PAGE, Listing


def _read(**query: str) -> Listing:
    return Listing.read(
        "/admin/people", query, filters=("q", "role"), sorts=("username", "email"), default_sort="username"
    )


def test_nonsense_falls_back_to_the_first_page_in_the_default_order() -> None:
    listing = _read(page="zero", sort="password_hash", dir="sideways", per="7")
    assert (listing.page, listing.sort, listing.descending, listing.per_page) == (
        1,
        "username",
        False,
        PER_PAGE,
    )
    assert _read(page="-3").page == 1 and _read(per="100").per_page == 100


def test_links_keep_the_filters_and_leave_defaults_out() -> None:
    listing = _read(q="ann & bob", role="", page="2").with_total(60)
    assert listing.pages == 3 and (listing.first_shown, listing.last_shown) == (26, 50)
    assert listing.link(page=3) == "/admin/people?q=ann+%26+bob&sort=username&dir=asc&page=3"
    assert listing.link(page=1) == "/admin/people?q=ann+%26+bob&sort=username&dir=asc"


def test_sorting_by_the_current_column_turns_the_order_round_and_starts_again_at_page_one() -> None:
    listing = _read(sort="email", dir="asc", page="3")
    assert listing.sort_link("email") == "/admin/people?sort=email&dir=desc"
    assert listing.sort_link("username") == "/admin/people?sort=username&dir=asc"
    assert (listing.aria_sort("email"), listing.aria_sort("username")) == ("ascending", "none")
