"""Open311 by the map: a reported point goes to the region whose real boundary holds it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from complaints.models import Ticket
from departments import selectors as geo
from departments.models import Boundary, Department
from departments.services import boundaries_import
from tests.conftest import require
from tests.factories import DepartmentFactory
from zheliban.core.datasets import data_dir

from .desk import desk  # noqa: F401
from .test_open311 import _refused, api, errors_of, good_post, key  # noqa: F401

BOUNDARIES = data_dir() / "regions" / "boundaries"
# GCJ-02 points (lat, long): the West Lake (西湖区), 余杭区 before its 2021 split, 上城区,
# Beijing.
XIHU = (30.2458, 120.1441)
YUHANG_OLD = (30.36255, 119.95744)
SHANGCHENG = (30.22203, 120.17983)
BEIJING = (39.9042, 116.4074)


@pytest.fixture
def boundaries(db):
    require(BOUNDARIES.is_dir(), f"needs the boundaries at {BOUNDARIES} (or set ZHELIBAN_DATA_DIR)")
    boundaries_import(BOUNDARIES)


def test_the_import_maps_the_2021_reorganisation_and_says_what_it_cannot(db, capsys):
    require(BOUNDARIES.is_dir(), f"needs the boundaries at {BOUNDARIES} (or set ZHELIBAN_DATA_DIR)")
    call_command("import_boundaries", str(BOUNDARIES))
    out = capsys.readouterr().out
    assert "Loaded 11 city and" in out
    assert "330103" in out and "330104, 330109, 330110" in out and "330113, 330114" in out
    assert Boundary.objects.get(code="330103").region_code == "330105"
    assert not Boundary.objects.get(code="330110").exact
    assert Boundary.objects.filter(level="city").count() == 11


def test_points_resolve_to_today_s_regions(boundaries):
    assert geo.region_at(XIHU[1], XIHU[0]) == geo.Located("330106", True, "330106")
    assert geo.region_at(SHANGCHENG[1], SHANGCHENG[0]).region_code == "330102"
    # Old 余杭区 is now 余杭区 and 临平区: only the city can be told, and it says so.
    assert geo.region_at(YUHANG_OLD[1], YUHANG_OLD[0]) == geo.Located("330100", False, "330110")
    assert geo.region_at(BEIJING[1], BEIJING[0]) is None
    assert geo.region_at(121.47, 31.23) is None  # Shanghai


def test_a_bad_directory_changes_nothing(boundaries, tmp_path):
    before = Boundary.objects.count()
    (tmp_path / "330000_full.json").write_text('{"features": [{"properties": {"adcode": 1}}]}')
    with pytest.raises(KeyError):
        boundaries_import(tmp_path)
    assert Boundary.objects.count() == before


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_point_in_xihu_goes_to_xihu_s_department(desk, boundaries, api, key, fmt):  # noqa: F811
    xihu = DepartmentFactory(
        code="330106-zhujian", kind=Department.Kind.HOUSING, region=desk.district
    )
    values = good_post(key, lat=str(XIHU[0]), long=str(XIHU[1]), attributes={"kind": "complaint"})
    reply = api.post(fmt, **values)
    assert reply.status in (200, 201), reply.data
    ticket = Ticket.objects.get()
    assert ticket.region.code == "330106"
    assert ticket.department == xihu


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_point_in_beijing_is_refused(desk, boundaries, api, key, fmt):  # noqa: F811
    values = good_post(
        key, lat=str(BEIJING[0]), long=str(BEIJING[1]), attributes={"kind": "complaint"}
    )
    (message,) = _refused(api, fmt, 400, values)
    assert message.startswith("lat, long: the point (39.9042, 116.4074) lies outside the province")


def test_a_point_outside_the_region_named_is_refused(desk, boundaries, api, key):  # noqa: F811
    values = good_post(key, lat=str(SHANGCHENG[0]), long=str(SHANGCHENG[1]))  # region 330106
    (message,) = _refused(api, "json", 400, values)
    assert message.startswith("lat, long: the point lies in")


def test_unknown_service_codes_are_404_when_searching_too(desk, api):  # noqa: F811
    reply = api.get("requests", service_code="potholes")
    assert reply.status == 404
    assert errors_of(reply) == ["service_code: there is no service “potholes”; see services.json."]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("杭州市西湖区文三路 100 号", "330106"),
        ("西湖区文三路", "330106"),
        ("杭州市某路", "330100"),
        ("文三路 100 号", "330000"),  # nothing named: the default region
    ],
)
def test_an_address_string_is_matched_to_a_region_by_name(desk, api, key, address, expected):  # noqa: F811
    values = good_post(
        key, lat=None, long=None, address_string=address, attributes={"kind": "complaint"}
    )
    reply = api.post("json", **values)
    assert reply.status == 200, reply.data
    assert Ticket.objects.get().region.code == expected


@pytest.mark.parametrize(
    ("lat", "long", "start"),
    [
        ("30.25x", "120.13", "lat"),
        ("95", "120.13", "lat"),
        ("30.25", "190", "long"),
        ("30.25", "", "long"),
    ],
)
def test_a_malformed_coordinate_is_refused_and_changes_nothing(
    desk,  # noqa: F811
    boundaries,
    api,  # noqa: F811
    key,  # noqa: F811
    lat,
    long,
    start,
):
    values = good_post(key, lat=lat, long=long, attributes={"kind": "complaint"})
    (message,) = _refused(api, "json", 400, values)
    assert message.startswith(start), message
    assert Ticket.objects.count() == 0
