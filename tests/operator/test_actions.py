"""The refresh/restart token pattern: pending means "annotation differs from status"."""

from __future__ import annotations

from metaferry_operator.actions import Action, Request, pending_requests

REFRESH, RESTART = "metaferry.io/refresh-requested-at", "metaferry.io/restart-requested-at"
CONFIRM_ARCHIVE = "metaferry.io/confirm-archive-requested-at"


def test_a_new_token_is_pending_until_echoed() -> None:
    assert pending_requests(annotations={REFRESH: "t1"}, status={}) == [Request(Action.REFRESH, "t1")]
    assert pending_requests(annotations={REFRESH: "t1"}, status={"lastHandledRefreshAt": "t1"}) == []
    assert pending_requests(annotations={REFRESH: "t2"}, status={"lastHandledRefreshAt": "t1"}) == [
        Request(Action.REFRESH, "t2")
    ]


def test_restart_goes_before_refresh_and_empty_values_are_ignored() -> None:
    found = pending_requests(annotations={REFRESH: "a", RESTART: "b"}, status={})
    assert [request.action for request in found] == [Action.RESTART, Action.REFRESH]
    assert pending_requests(annotations={REFRESH: ""}, status={}) == []


def test_an_archive_confirmation_is_a_request_of_its_own_even_with_the_refresh_token() -> None:
    found = pending_requests(annotations={REFRESH: "t1", CONFIRM_ARCHIVE: "t1"}, status={})
    assert found == [Request(Action.CONFIRM_ARCHIVE, "t1"), Request(Action.REFRESH, "t1")]
    handled = {"lastHandledRefreshAt": "t1", "lastHandledConfirmArchiveAt": "t1"}
    assert pending_requests(annotations={REFRESH: "t1", CONFIRM_ARCHIVE: "t1"}, status=handled) == []
