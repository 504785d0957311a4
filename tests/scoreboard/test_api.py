"""``/api/v1/scoreboard/`` and ``/api/v1/scoreboard/departments/<code>/``."""

from __future__ import annotations

import pytest

from scoreboard.metrics import METRICS
from scoreboard.models import Score, Snapshot, WeightSet
from scoreboard.selectors import board_scores

BOARD = "/api/v1/scoreboard/"


def history_url(code: str) -> str:
    return f"/api/v1/scoreboard/departments/{code}/"


def breakdown_url(code: str, metric: str) -> str:
    return f"/api/v1/scoreboard/departments/{code}/{metric}/"


@pytest.fixture
def world(board_world):
    world = board_world(1)
    world.snapshot = world.compute()
    return world


def test_board_gives_every_row_with_every_metric(client, world):
    response = client.get(BOARD, {"period": "month", "level": "city"})
    assert response.status_code == 200
    body = response.json()
    snapshot = world.snapshot
    assert body["snapshot"] == {
        "period": "month",
        "start": snapshot.start.isoformat(),
        "end": snapshot.end.isoformat(),
        "computed_at": snapshot.computed_at.isoformat(),
    }
    assert body["weights"]["version"] == snapshot.weight_set.version == 1
    assert body["weights"]["min_volume"] == 5
    assert (body["level"], body["regions"]) == ("city", False)
    scores = list(board_scores(snapshot, level="city"))
    assert [r["code"] for r in body["rows"]] == [s.department.code for s in scores]
    for row, score in zip(body["rows"], scores, strict=True):
        assert row["kind"] == "department"
        assert (row["rank"], row["ranked"], row["rank_change"]) == (
            score.rank,
            score.ranked,
            score.rank_change,
        )
        assert (row["score"], row["volume"], row["peers"]) == (
            score.score,
            score.volume,
            score.peers,
        )
        assert set(row["metrics"]) == {m.key for m in METRICS}
        for key, figure in row["metrics"].items():
            assert figure == score.metrics[key]
    gongan = next(r for r in body["rows"] if r["code"] == "330100-gongan")
    assert gongan["metrics"]["on_time"]["num"] == 3.0
    assert gongan["metrics"]["on_time"]["den"] == 4.0
    quiet = next(r for r in body["rows"] if r["code"] == "330100-shangwu")
    # one item: below the minimum volume of 5, so no score and no rank
    assert (quiet["ranked"], quiet["rank"], quiet["score"], quiet["volume"]) == (
        False,
        None,
        None,
        1,
    )
    assert quiet["unranked_reason"] == "below_min_volume"
    assert body["rows"][-1] == quiet
    assert [r["unranked_reason"] for r in body["rows"][:-1]] == [None, None, None]


def test_board_of_regions_and_of_an_earlier_start(client, world):
    body = client.get(BOARD, {"regions": "1", "level": "province"}).json()
    assert [(r["kind"], r["code"]) for r in body["rows"]] == [("region", "330000")]
    county = client.get(BOARD, {"level": "county"}).json()
    assert [r["code"] for r in county["rows"]] == ["330106-gongan"]
    same = client.get(BOARD, {"start": world.snapshot.start.isoformat()})
    assert same.status_code == 200


def test_department_history(client, world):
    response = client.get(history_url("330100-gongan"), {"period": "month"})
    assert response.status_code == 200
    body = response.json()
    score = Score.objects.get(snapshot=world.snapshot, department__code="330100-gongan")
    assert body["department"] == {
        "code": "330100-gongan",
        "name": "杭州市公安局",
        "region": "330100",
    }
    assert body["period"] == "month"
    assert len(body["history"]) == 1
    point = body["history"][0]
    assert point["start"] == world.snapshot.start.isoformat()
    assert (point["score"], point["rank"]) == (score.score, score.rank)
    assert point["metrics"]["compression"] == score.metrics["compression"]
    assert client.get(history_url("330100-gongan"), {"period": "year"}).json()["history"] == []


def state() -> tuple:
    return (
        list(Snapshot.objects.values_list("pk", "start", "weight_set")),
        list(Score.objects.values_list("pk", "score", "rank")),
        list(WeightSet.objects.values_list("pk", "version")),
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"period": "week"}, "period"),
        ({"level": "town"}, "level"),
        ({"regions": "yes"}, "regions"),
        ({"start": "2026-02-30"}, "start"),
        ({"start": "yesterday"}, "start"),
    ],
)
def test_bad_parameters_are_400_in_the_error_shape(client, world, query, field):
    before = state()
    response = client.get(BOARD, query)
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert list(error["fields"]) == [field]
    assert error["message"] == error["fields"][field][0]
    assert state() == before


def test_bad_period_of_history_is_400(client, world):
    response = client.get(history_url("330100-gongan"), {"period": "week"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_choice"


def test_no_snapshot_is_404_with_its_code(client, world):
    before = state()
    for query in ({"period": "year"}, {"start": "2001-01-01"}):
        response = client.get(BOARD, query)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "no_snapshot"
    assert state() == before


def test_unknown_department_is_404(client, world):
    response = client.get(history_url("nobody"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_breakdown_gives_counts_by_item_and_month_and_no_case(client, world):
    response = client.get(breakdown_url("330100-gongan", "bad_ratings"))
    assert response.status_code == 200
    body = response.json()
    assert body["department"] == {
        "code": "330100-gongan",
        "name": "杭州市公安局",
        "region": "330100",
    }
    assert body["metric"]["key"] == "bad_ratings" and body["metric"]["kind"] == "rate"
    assert body["snapshot"]["start"] == world.snapshot.start.isoformat()
    score = Score.objects.get(snapshot=world.snapshot, department__code="330100-gongan")
    assert body["board"] == score.metrics["bad_ratings"]
    # Two rated cases of the department's one (unpublished) item: one rated 1, one rated 5.
    assert body["totals"] == {"rows": 2, "num": 1.0, "den": 2.0}
    item = world.departments["gongan"].board_item
    by_item, by_month = body["dimensions"]
    assert by_item["dimension"] == "item"
    assert by_item["groups"] == [
        {
            "key": item.code,
            "label": item.name,
            "item": None,  # not published: named, not linked
            "rows": 2,
            "num": 1.0,
            "den": 2.0,
            "not_counted": 1,
            "holds_figure": False,
        }
    ]
    assert by_month["dimension"] == "month"
    assert [(g["key"], g["rows"], g["num"]) for g in by_month["groups"]] == [
        (world.snapshot.start.strftime("%Y-%m"), 2, 1.0)
    ]


def test_bad_breakdown_requests_are_refused_in_the_error_shape(client, world):
    for url, query, status, code in (
        (breakdown_url("nobody", "on_time"), {}, 404, "not_found"),
        (breakdown_url("330100-gongan", "nonsense"), {}, 404, "not_found"),
        (breakdown_url("330100-gongan", "assistant_answered"), {}, 404, "not_found"),
        (breakdown_url("330100-gongan", "on_time"), {"period": "year"}, 404, "no_snapshot"),
        (breakdown_url("330100-gongan", "on_time"), {"period": "week"}, 400, "invalid_choice"),
        (breakdown_url("330100-gongan", "on_time"), {"start": "2001-01-01"}, 404, "no_snapshot"),
    ):
        before = state()
        response = client.get(url, query)
        assert response.status_code == status, (url, query)
        assert response.json()["error"]["code"] == code
        assert state() == before


@pytest.mark.parametrize("scale", [1, 4])
@pytest.mark.parametrize(
    ("url", "queries"),
    [
        (BOARD, 2),
        (BOARD + "?regions=1", 2),
        (history_url("330100-gongan"), 2),
        (breakdown_url("330100-gongan", "bad_ratings"), 6),
        (breakdown_url("330100-gongan", "returns"), 6),
    ],
)
def test_api_runs_a_fixed_number_of_queries(
    client, board_world, scale, url, queries, django_assert_num_queries
):
    world = board_world(scale)
    world.compute()
    world.compute("rolling30")
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200
