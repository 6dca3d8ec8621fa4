"""kit.metrics: each (route, method, status) is counted and timed on its own series."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from services.kit.metrics import Metrics


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(metrics.exposition().decode())
        for sample in family.samples
    }


def test_requests_are_counted_per_route_method_and_status() -> None:
    metrics = Metrics("training")
    route = "/api/v1/courses/{course_id}"
    for status, seconds in ((200, 0.001), (200, 0.02), (304, 0.001), (404, 0.3)):
        metrics.observe_request(route, "GET", status, seconds)
    metrics.observe_request(route, "HEAD", 200, 0.001)
    samples = _samples(metrics)

    def count(method: str, status: str) -> float:
        key = (("method", method), ("route", route), ("status", status))
        return samples[("jiasao_http_requests_total", key)]

    assert count("GET", "200") == 2
    assert count("GET", "304") == 1
    assert count("GET", "404") == 1
    assert count("HEAD", "200") == 1
    get = (("method", "GET"), ("route", route))
    assert samples[("jiasao_http_request_duration_seconds_count", get)] == 4
    assert abs(samples[("jiasao_http_request_duration_seconds_sum", get)] - 0.322) < 1e-9
    bucket = (("le", "0.01"), ("method", "GET"), ("route", route))
    assert samples[("jiasao_http_request_duration_seconds_bucket", bucket)] == 2
