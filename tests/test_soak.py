"""The soak's bookkeeping: what counts as an error, and its report (the soak itself runs for
minutes: `python -m tools.soak --minutes 10`)."""

from __future__ import annotations

import pytest

from seg.reports import soak as report
from tools.soak import GENERIC, one_request, summarise


def fails(message):
    def call():
        raise RuntimeError(message)
    return call


@pytest.mark.parametrize("call, expected, outcome", [
    (lambda: None, None, "ok"),
    (fails("This file is not an image the app can read."), "not an image", "ok"),  # a bad request, answered
    (fails(f"The {GENERIC} but has not enabled verbose error reporting."), "not an image", "error"),
    (fails("connection reset"), None, "error"),
    (lambda: None, "not an image", "error"),  # a bad request accepted
])
def test_a_bad_request_answered_with_its_message_is_a_success_and_nothing_else_is(call, expected, outcome):
    assert one_request(call, expected)[0] == outcome


def test_the_report_names_errors_and_what_moved_beyond_ten_percent():
    records = [{"kind": "photo", "ms": ms, "outcome": "ok", "detail": ""} for ms in range(1, 101)]
    records.append({"kind": "cost", "ms": 5.0, "outcome": "error", "detail": "RuntimeError: boom"})
    start = {"rss_mb": 1000, "threads": 20, "open_files": 30, "disk_mb": 10}
    end = {"rss_mb": 1050, "threads": 20, "open_files": 40, "disk_mb": 10.5}
    result = {**summarise(records, start, end, {**end, "rss_mb": 1200}, 10, 4, 60, "Test CPU", True), "lost": 0, "cache_ttl_s": 60}
    assert result["requests"] == 101 and result["errors"] == 1 and result["p99_ms"] == 99  # nearest rank: the 100th of 101
    assert result["within_10_percent"] == {"rss_mb": True, "threads": True, "open_files": False, "disk_mb": True}
    text = report.markdown(result)
    assert "**101 requests, 1 errors, 0 lost**" in text and "| open files | 30 | 40 | ❌ | 40 |" in text
    assert "`RuntimeError: boom`" in text and "python -m tools.soak --minutes 10" in text
