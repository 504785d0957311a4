"""Streets, towns and townships (街道, 镇, 乡): the fourth level of regions and their offices."""

import csv
import io
import os
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import translation

from departments import demo
from departments.errors import DepartmentsErrorCode
from departments.models import Boundary, Department, Membership, Region, region_code_validator
from departments.scoping import overseen_department_ids
from departments.selectors import region_subtree
from departments.services import streets_import, streets_read
from tests.factories import DepartmentFactory, MembershipFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def english():
    """Messages are compared in their English source text (Chinese is the default language)."""
    with translation.override("en"):
        yield


HEADER = "code,name,areaCode,provinceCode,cityCode\n"
SHARED_STREETS = (
    Path(
        os.environ.get("ZHELIBAN_DATA_DIR", Path(__file__).resolve().parents[3] / "shared" / "data")
    )
    / "regions"
    / "zhejiang_streets.csv"
)


@pytest.fixture
def xihu():
    province = Region.objects.create(code="330000", name="浙江省", level=Region.Level.PROVINCE)
    city = Region.objects.create(
        code="330100", name="杭州市", level=Region.Level.CITY, parent=province
    )
    return Region.objects.create(
        code="330106", name="西湖区", level=Region.Level.COUNTY, parent=city
    )


def write_csv(tmp_path: Path, lines: list[str], name: str = "streets.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def street_rows(county: str, count: int, start: int = 1) -> list[str]:
    return [f'{county}{n:03d},"街道{n}",{county},33,3301' for n in range(start, start + count)]


# ---------------------------------------------------------------- the import


def test_import_creates_streets_under_their_county_and_skips_unknown_counties(tmp_path, xihu):
    path = write_csv(
        tmp_path,
        [
            '330106002,"北山街道",330106,33,3301',
            '330106109,"三墩镇",330106,33,3301',
            '330105001,"米市巷街道",330105,33,3301',  # 拱墅区 is not in the database
            '330105002,"湖墅街道",330105,33,3301',
        ],
    )
    report = streets_import(streets_read(path))
    assert report == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "skipped": 2,
        "skipped_counties": ["330105"],
        "invalid": [],
    }
    streets = Region.objects.filter(level=Region.Level.STREET).order_by("code")
    assert [(r.code, r.name, r.parent_id) for r in streets] == [
        ("330106002", "北山街道", xihu.pk),
        ("330106109", "三墩镇", xihu.pk),
    ]
    assert not Region.objects.filter(code__startswith="330105").exists()


def test_import_is_idempotent_and_updates_what_changed(tmp_path, xihu):
    rows = streets_read(
        write_csv(
            tmp_path, ['330106002,"北山街道",330106,33,3301', '330106004,"西溪街道",330106,,']
        )
    )
    assert streets_import(rows)["created"] == 2
    before = list(Region.objects.order_by("code").values_list("pk", "code", "name", "parent_id"))

    again = streets_import(rows)
    assert (again["created"], again["updated"], again["unchanged"], again["skipped"]) == (
        0,
        0,
        2,
        0,
    )
    assert (
        list(Region.objects.order_by("code").values_list("pk", "code", "name", "parent_id"))
        == before
    )

    renamed = [dict(rows[0], name="北山街道（新）"), rows[1]]
    report = streets_import(renamed)
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 1, 1)
    assert Region.objects.get(code="330106002").name == "北山街道（新）"


def test_bad_rows_are_reported_with_their_reason_and_not_imported(tmp_path, xihu):
    rows = streets_read(
        write_csv(
            tmp_path,
            [
                '330106002,"北山街道",330106,33,3301',
                '33010600,"八位",330106,33,3301',
                '330105001,"不对的区",330106,33,3301',
                '330106005,"",330106,33,3301',
                '330106002,"重复",330106,33,3301',
                '330106006,"' + "长" * 51 + '",330106,33,3301',
            ],
        )
    )
    report = streets_import(rows)
    assert (report["created"], report["skipped"]) == (1, 0)
    assert report["invalid"] == [
        {"row": 2, "code": "33010600", "reason": "the code is not 9 digits"},
        {
            "row": 3,
            "code": "330105001",
            "reason": "the code does not begin with its county's code 330106",
        },
        {"row": 4, "code": "330106005", "reason": "no name"},
        {"row": 5, "code": "330106002", "reason": "the code is listed twice"},
        {"row": 6, "code": "330106006", "reason": "the name is longer than 50 characters"},
    ]
    assert list(Region.objects.filter(level="street").values_list("code", "name")) == [
        ("330106002", "北山街道")
    ]


@pytest.mark.parametrize("size", [5, 300])
def test_import_runs_a_fixed_number_of_queries(tmp_path, xihu, size, django_assert_max_num_queries):
    rows = streets_read(write_csv(tmp_path, street_rows("330106", size)))
    with django_assert_max_num_queries(6):
        assert streets_import(rows)["created"] == size
    renamed = [dict(row, name=f"{row['name']}新") for row in rows]
    with django_assert_max_num_queries(6):
        assert streets_import(renamed)["updated"] == size


def test_reading_a_file_without_the_columns_is_refused(tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("id,title\n1,x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no column code, name, areaCode"):
        streets_read(path)


# ---------------------------------------------------------------- the command


def test_command_prints_the_counts(tmp_path, xihu):
    path = write_csv(tmp_path, [*street_rows("330106", 3), *street_rows("330105", 2)])
    out, err = io.StringIO(), io.StringIO()
    call_command("import_regions", str(path), stdout=out, stderr=err)
    assert out.getvalue().strip() == (
        "Streets, towns and townships: 3 created, 0 updated, 0 unchanged, 2 skipped "
        "(in 1 counties not in the database), 0 invalid."
    )
    assert err.getvalue() == ""
    out = io.StringIO()
    call_command("import_regions", str(path), stdout=out, stderr=err)
    assert "0 created, 0 updated, 3 unchanged, 2 skipped" in out.getvalue()


def test_command_reports_bad_rows_on_stderr(tmp_path, xihu):
    path = write_csv(tmp_path, ['3301061,"七位",330106,33,3301'])
    out, err = io.StringIO(), io.StringIO()
    call_command("import_regions", str(path), stdout=out, stderr=err)
    assert "streets.csv, line 2 (3301061): the code is not 9 digits" in err.getvalue()
    assert "1 invalid" in out.getvalue()


def test_command_reads_the_data_folder_by_default(tmp_path, xihu, monkeypatch):
    (tmp_path / "regions").mkdir()
    write_csv(tmp_path / "regions", street_rows("330106", 2), name="zhejiang_streets.csv")
    monkeypatch.setenv("ZHELIBAN_DATA_DIR", str(tmp_path))
    call_command("import_regions", stdout=io.StringIO())
    assert Region.objects.filter(level="street").count() == 2


def test_command_with_a_missing_file_fails_clearly(tmp_path):
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(CommandError) as error:
        call_command("import_regions", str(missing))
    assert str(error.value) == f"Streets not imported, nothing changed: no file {missing}"
    assert not Region.objects.exists()


def test_command_with_a_file_of_another_kind_fails_clearly(tmp_path):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00code")
    with pytest.raises(CommandError) as error:
        call_command("import_regions", str(path))
    assert str(error.value).startswith(
        "Streets not imported, nothing changed: binary.csv: not a UTF-8 CSV file"
    )


# ---------------------------------------------------------------- the model


@pytest.mark.parametrize("code", ["3301061", "33010600", "3301060011", "33010a001", ""])
def test_region_code_has_six_or_nine_digits(code, xihu, english):
    message = "A region code has six digits, or nine for a street, town or township."
    with pytest.raises(ValidationError) as error:
        region_code_validator(code)
    assert (error.value.messages, error.value.code) == (
        [message],
        DepartmentsErrorCode.REGION_CODE_FORMAT,
    )
    if code:
        street = Region(code=code, name="某街道", level=Region.Level.STREET, parent=xihu)
        with pytest.raises(ValidationError) as error:
            street.full_clean()
        assert message in error.value.message_dict["code"]


def test_six_and_nine_digit_codes_are_accepted(xihu):
    region_code_validator("330106")
    street = Region(code="330106002", name="北山街道", level=Region.Level.STREET, parent=xihu)
    street.full_clean()


def test_a_street_belongs_to_a_county_and_carries_its_code(xihu, english):
    under_city = Region(
        code="330100001", name="某街道", level=Region.Level.STREET, parent=xihu.parent
    )
    with pytest.raises(ValidationError) as error:
        under_city.full_clean()
    assert [e.code for e in error.value.error_dict["parent"]] == [
        DepartmentsErrorCode.REGION_PARENT_LEVEL
    ]
    elsewhere = Region(code="330105001", name="某街道", level=Region.Level.STREET, parent=xihu)
    with pytest.raises(ValidationError) as error:
        elsewhere.full_clean()
    assert error.value.message_dict["code"] == [
        "A street's code begins with its county's code, 330106."
    ]


@pytest.mark.parametrize(
    ("code", "level"), [("330106002", Region.Level.COUNTY), ("330107", Region.Level.STREET)]
)
def test_the_database_ties_the_digits_to_the_level(xihu, code, level):
    with pytest.raises(IntegrityError), transaction.atomic():
        Region.objects.create(code=code, name="某地", level=level, parent=xihu)


def test_a_boundary_still_resolves_to_six_digits(english):
    boundary = Boundary(
        code="330106",
        name="西湖区",
        level=Boundary.Level.COUNTY,
        region_code="330106002",
        geometry={},
        min_lng=0,
        min_lat=0,
        max_lng=1,
        max_lat=1,
    )
    with pytest.raises(ValidationError) as error:
        boundary.full_clean()
    assert "A region code has exactly six digits." in error.value.message_dict["region_code"]


# ---------------------------------------------------------------- the demo


def committed_rows() -> list[dict]:
    with demo.STREETS_CSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_committed_copy_is_the_shared_rows_of_the_demo_districts_unchanged():
    if not SHARED_STREETS.is_file():
        pytest.skip(f"no shared data at {SHARED_STREETS}")
    districts = {code for code, _name in demo.HANGZHOU_DISTRICTS}
    shared = SHARED_STREETS.read_text(encoding="utf-8").splitlines(keepends=True)
    expected = [shared[0]] + [
        line for line in shared[1:] if next(csv.reader([line]))[2] in districts
    ]
    assert demo.STREETS_CSV.read_text(encoding="utf-8").splitlines(keepends=True) == expected


def test_demo_seeds_the_streets_and_offices_of_xihu(django_assert_max_num_queries):
    rows = committed_rows()
    xihu_rows = sorted((r["code"], r["name"]) for r in rows if r["areaCode"] == "330106")
    assert len(xihu_rows) == 12  # 10 streets and 2 towns (三墩镇, 双浦镇)

    demo.seed(stdout=io.StringIO())
    counts = (Region.objects.count(), Department.objects.count(), Membership.objects.count())
    demo.seed(stdout=io.StringIO())  # idempotent
    assert (
        Region.objects.count(),
        Department.objects.count(),
        Membership.objects.count(),
    ) == counts

    streets = Region.objects.filter(level=Region.Level.STREET)
    assert streets.count() == len(rows) == 86
    for code, _name in demo.HANGZHOU_DISTRICTS:
        assert streets.filter(parent__code=code).count() == sum(r["areaCode"] == code for r in rows)
    assert list(streets.filter(parent__code="330106").values_list("code", "name")) == xihu_rows

    offices = Department.objects.filter(region__parent__code="330106")
    assert offices.count() == 2 * len(xihu_rows)
    assert set(
        Department.objects.filter(region__level=Region.Level.STREET).values_list(
            "region__parent__code", flat=True
        )
    ) == {"330106"}
    beishan = {d.kind: (d.code, d.name) for d in offices.filter(region__code="330106002")}
    assert beishan == {
        Department.Kind.STREET_OFFICE: ("330106002-jiedao", "北山街道办事处"),
        Department.Kind.ENFORCEMENT: ("330106002-zhifa", "北山街道综合行政执法队"),
    }
    sandun = offices.get(region__code="330106109", kind=Department.Kind.STREET_OFFICE)
    assert (sandun.code, sandun.name) == ("330106109-jiedao", "三墩镇人民政府")
    for department in offices:
        department.full_clean()  # the codes are valid slugs

    staffed = Membership.objects.filter(department__in=offices)
    assert sorted(staffed.values_list("user__username", "role")) == sorted(
        (f"{code}-{kind}-{role}", role)
        for code in ("330106002", "330106004")
        for kind in ("jiedao", "zhifa")
        for role in ("clerk", "supervisor")
    )
    assert all(m.user.has_usable_password() for m in staffed.select_related("user"))


def test_street_office_names():
    assert demo.street_office_name("北山街道") == "北山街道办事处"
    assert demo.street_office_name("三墩镇") == "三墩镇人民政府"
    assert demo.street_office_name("某乡") == "某乡人民政府"


# ---------------------------------------------------------------- oversight and lookups


@pytest.fixture
def street_offices(xihu):
    province, city = xihu.parent.parent, xihu.parent
    gongshu = Region.objects.create(
        code="330105", name="拱墅区", level=Region.Level.COUNTY, parent=city
    )
    beishan = Region.objects.create(
        code="330106002", name="北山街道", level=Region.Level.STREET, parent=xihu
    )
    hushu = Region.objects.create(
        code="330105002", name="湖墅街道", level=Region.Level.STREET, parent=gongshu
    )
    centre = Department.Kind.SERVICE_CENTRE
    return {
        "province_centre": DepartmentFactory(kind=centre, region=province),
        "city_centre": DepartmentFactory(kind=centre, region=city),
        "xihu_centre": DepartmentFactory(kind=centre, region=xihu),
        "gongshu_centre": DepartmentFactory(kind=centre, region=gongshu),
        "beishan_office": DepartmentFactory(kind=Department.Kind.STREET_OFFICE, region=beishan),
        "beishan_zhifa": DepartmentFactory(kind=Department.Kind.ENFORCEMENT, region=beishan),
        "hushu_office": DepartmentFactory(kind=Department.Kind.STREET_OFFICE, region=hushu),
    }


def overseen_by(department) -> set[int]:
    supervisor = MembershipFactory(department=department, role=Membership.Role.SUPERVISOR).user
    return set(
        Department.objects.filter(pk__in=overseen_department_ids(supervisor)).values_list(
            "pk", flat=True
        )
    )


def test_a_district_centre_oversees_its_streets_offices(street_offices):
    d = street_offices
    beishan = {d["beishan_office"].pk, d["beishan_zhifa"].pk}
    assert overseen_by(d["xihu_centre"]) == {d["xihu_centre"].pk, *beishan}
    assert overseen_by(d["gongshu_centre"]) == {d["gongshu_centre"].pk, d["hushu_office"].pk}
    everything = {department.pk for department in d.values()}
    assert overseen_by(d["city_centre"]) == everything - {d["province_centre"].pk}
    assert overseen_by(d["province_centre"]) == everything


def test_a_street_office_oversees_no_one(street_offices):
    clerk_of_street = MembershipFactory(
        department=street_offices["beishan_office"], role=Membership.Role.SUPERVISOR
    ).user
    assert not overseen_department_ids(clerk_of_street).exists()


def test_region_subtree_reaches_the_streets(street_offices, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert list(region_subtree(code="330106").values_list("code", flat=True)) == [
            "330106",
            "330106002",
        ]
    assert list(region_subtree(code="330000").values_list("code", flat=True)) == [
        "330000",
        "330100",
        "330105",
        "330105002",
        "330106",
        "330106002",
    ]
    assert not region_subtree(code="999999").exists()


def test_api_finds_a_street_by_its_nine_digit_code(client, street_offices):
    response = client.get("/api/v1/regions/330106002/")
    assert response.status_code == 200
    assert response.json() == {
        "code": "330106002",
        "name": "北山街道",
        "level": "street",
        "parent": "330106",
    }
    assert client.get("/api/v1/regions/33010600/").status_code == 404
    listed = client.get("/api/v1/regions/", {"level": "street", "parent": "330106"}).json()
    assert [r["code"] for r in listed["results"]] == ["330106002"]


def test_admin_lists_streets_by_level_and_county(client, street_offices):
    admin_client = client
    admin_client.force_login(StaffFactory(is_superuser=True))
    page = admin_client.get("/admin/departments/region/", {"level__exact": "street"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "330106002" in text and "330105002" in text and ">330106</a>" not in text
    by_county = admin_client.get(
        "/admin/departments/region/",
        {"level__exact": "street", "parent__id__exact": street_offices["xihu_centre"].region_id},
    ).content.decode()
    assert "北山街道" in by_county and "湖墅街道" not in by_county
