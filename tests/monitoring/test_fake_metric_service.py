"""The fake must refuse what Cloud Monitoring refuses, or the exporter tests prove nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from google.api_core import exceptions as gexc
from google.cloud import monitoring_v3

from harness.monitoring._export import make_client

END = datetime(2026, 11, 29, 23, 0, tzinfo=timezone.utc)


def _series(i=0, end=END, points=1):
    return {
        "metric": {"type": "custom.googleapis.com/xynergy_harness/probe", "labels": {"i": str(i)}},
        "resource": {"type": "global", "labels": {"project_id": "test-project"}},
        "points": [{"interval": {"end_time": end}, "value": {"double_value": 1.0}}] * points,
    }


@pytest.fixture
def client(fake):
    client = make_client(fake.endpoint)
    yield client
    client.transport.close()


def _write(client, series):
    client.create_time_series(request={"name": "projects/test-project", "time_series": series}, retry=None, timeout=5)


def test_more_than_200_series_in_one_call_are_refused(client):
    with pytest.raises(gexc.InvalidArgument, match="between 1 and 200"):
        _write(client, [_series(i) for i in range(201)])
    _write(client, [_series(i) for i in range(200)])


def test_the_same_series_twice_in_one_call_is_refused(client):
    with pytest.raises(gexc.InvalidArgument, match="appears twice"):
        _write(client, [_series(1), _series(1)])


def test_points_must_go_forward_in_time_and_one_per_series(client):
    _write(client, [_series(1)])
    with pytest.raises(gexc.InvalidArgument, match="in order"):
        _write(client, [_series(1, end=END - timedelta(seconds=10))])
    with pytest.raises(gexc.InvalidArgument, match="exactly one point"):
        _write(client, [_series(2, points=2)])


def test_unsupported_filters_are_refused_rather_than_guessed(client):
    request = {"name": "projects/test-project", "filter": 'metric.type = starts_with("run")', "interval": {"end_time": END}}
    with pytest.raises(gexc.InvalidArgument, match="does not support filter term"):
        list(client.list_time_series(request=request, retry=None, timeout=5))


def test_listed_series_come_back_across_pages(client, fake):
    for i in range(5):
        fake.add_series(monitoring_v3.TimeSeries(_series(i)))
    request = {
        "name": "projects/test-project", "page_size": 2,
        "filter": 'metric.type = "custom.googleapis.com/xynergy_harness/probe"',
        "interval": {"start_time": END - timedelta(minutes=1), "end_time": END},
    }  # fmt: skip
    listed = list(client.list_time_series(request=request, retry=None, timeout=5))
    assert sorted(s.metric.labels["i"] for s in listed) == ["0", "1", "2", "3", "4"]
    assert len(fake.calls_to("ListTimeSeries")) == 3
