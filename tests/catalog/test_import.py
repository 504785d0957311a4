"""``import_items --format gdzwfw``: the real Guangdong feed, and what goes wrong with feeds.

Tests marked with ``gd_catalog`` run on the feed imported once for the package (see conftest);
the others run first, on an empty catalog.
"""

import json
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError

from catalog.importers import gdzwfw
from catalog.importers.gdzwfw import (
    JointPart,
    gdzwfw_import,
    material_source,
    parse_days,
    parse_joint_parts,
    short_phone,
    statute_titles,
    theme_slug,
)
from catalog.models import JointStage, Material, ServiceItem, ServiceItemVersion, Theme
from departments.models import Department, Region

PRICE = "11440000006939756B2440101007000"  # 广东省发展和改革委员会, the first line
COLLEGE = "11440000006940116U244010200300103"  # nine departments handle it jointly
DRUG = "11440000MB2D0344212442172020002"  # no counter; a city department created for it
TEACHER = "11440100007482620J344010201300202"  # 广州市教育局
CALENDAR = "11440000553612461J2442111626000"  # both limits in calendar days

# The three departments that co_department names and no row has as its own DEPT_NAME.
JOINT_CREATED = ["广东省机构编制委员会办公室", "广州市文化和旅游局", "广州市市场监督管理局"]


def catalog_state() -> dict[str, int]:
    return {
        "items": ServiceItem.objects.count(),
        "versions": ServiceItemVersion.objects.count(),
        "materials": Material.objects.count(),
        "stages": JointStage.objects.count(),
        "item_themes": ServiceItem.themes.through.objects.count(),
        "themes": Theme.objects.count(),
        "departments": Department.objects.count(),
        "regions": Region.objects.count(),
    }


def feed_objects(path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def write_lines(path, lines) -> None:
    path.write_bytes(
        b"\n".join(
            line if isinstance(line, bytes) else json.dumps(line, ensure_ascii=False).encode()
            for line in lines
        )
        + b"\n"
    )


def run_command(*args) -> str:
    out = StringIO()
    call_command("import_items", *args, "--format", "gdzwfw", stdout=out)
    return out.getvalue()


# Pure parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("20(工作日)", (20, None)),
        ("0(工作日)", (0, None)),
        ("无", (None, None)),
        (None, (None, None)),
        ("20（工作日）", (20, "working days, unusual spelling; converted")),
        ("20个工作日", (20, "working days, unusual spelling; converted")),
        ("15", (15, "working days, unusual spelling; converted")),
        ("即办", (0, "handled on the spot; converted to 0")),
        ("90(自然日)", (None, "calendar days cannot be counted as working days; left empty")),
        ("三个月", (None, "not a time limit; left empty")),
    ],
)
def test_time_limits_are_working_days(raw, expected):
    assert parse_days(raw) == expected


def test_legal_basis_is_the_distinct_statutes_cited():
    text = (
        "符合《中华人民共和国高等教育法》、《广东省实施〈中华人民共和国价格法〉办法》和"
        "《高等职业学校设置标准（暂行）》；再引《中华人民共和国高等教育法》，提交《申请表》"
        "及《医师资格证书》。"
    )
    assert statute_titles(text) == [
        "中华人民共和国高等教育法",
        "广东省实施〈中华人民共和国价格法〉办法",
        "高等职业学校设置标准（暂行）",
    ]


def test_joint_handling_parts_and_what_is_left_out():
    parts, problems = parse_joint_parts(
        "省级教育（受理,审核,决定与公开,证件制定与送达）、市级司法（受理，会签）、"
        "县级司法（受理,审核）、国家级公安（决定与公开）、省级其他（决定与公开）、乱码"
    )
    assert parts == [
        JointPart("440000", "教育", ["accept", "review", "decide", "issue"], parts[0].raw),
        JointPart("440100", "司法", ["accept"], "市级司法（受理，会签）"),
    ]
    assert problems == [
        ("市级司法（受理，会签）", "unknown stage '会签'; not recorded"),
        ("县级司法（受理,审核）", "no region for level '县级' in this feed; not recorded"),
        ("国家级公安（决定与公开）", "no region for level '国家级' in this feed; not recorded"),
        ("省级其他（决定与公开）", "no department named; not recorded"),
        ("乱码", "not understood; not recorded"),
    ]
    assert parse_joint_parts("无") == ([], [])


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("居民身份证", "issued"),
        ("营业执照等申请人身份证明文件", "issued"),
        ("原《建设工程规划许可证》", "issued"),
        ("出生医学证明", "issued"),
        ("外国人签证证件申请表", "applicant"),
        ("个人委托书", "applicant"),
        ("手持身份证照片", "applicant"),
        ("提价申报申请报告", "applicant"),
    ],
)
def test_material_source(name, source):
    assert material_source(name) == source


def test_theme_slugs_are_pinyin():
    assert theme_slug("交通出行") == "jiao-tong-chu-xing"
    assert theme_slug("社会保障（社会保险、社会救助）") == (
        "she-hui-bao-zhang-she-hui-bao-xian-she-hui-jiu-zhu"
    )
    long = theme_slug("中华人民共和国出入境管理与外国人居留许可办理服务")
    assert len(long) <= 60
    assert not long.endswith("-")


def test_too_long_phone_fields_keep_their_numbers():
    raw = "窗口咨询地址：广州市政民路51号。咨询电话号码：020-86351132。邮政编码：510405。" * 3
    assert short_phone(raw) == (
        "020-86351132",
        "longer than 120 characters; kept the phone numbers only",
    )
    assert short_phone("无") == ("", None)


# On an empty catalog ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_fatal_error_leaves_the_catalog_as_it_was(gd_feed, monkeypatch):
    assert not ServiceItem.objects.exists(), "runs before gd_catalog (see conftest)"
    before = catalog_state()
    publish = gdzwfw.item_publish
    calls = []

    def publish_until_the_hundredth(**kwargs):
        calls.append(kwargs["item"].code)
        if len(calls) == 100:
            raise IntegrityError("the database went away")
        return publish(**kwargs)

    monkeypatch.setattr(gdzwfw, "item_publish", publish_until_the_hundredth)
    with pytest.raises(CommandError, match="Nothing imported, database error"):
        run_command(str(gd_feed), "--no-progress")
    assert len(calls) == 100
    assert catalog_state() == before
    assert not Region.objects.filter(code__in=["440000", "440100"]).exists()


@pytest.mark.django_db
def test_a_missing_file_is_fatal(tmp_path):
    before = catalog_state()
    with pytest.raises(CommandError, match=r"Nothing imported: cannot read .*absent\.jsonl"):
        run_command(str(tmp_path / "absent.jsonl"))
    assert catalog_state() == before


@pytest.mark.django_db
def test_malformed_rows_are_reported_and_skipped(gd_feed, tmp_path):
    price = feed_objects(gd_feed)[0]
    messy = {
        **price,
        "TASK_CODE": "TEST-MESSY",
        "handle_time": "20个工作日",
        "handle_time_limit": "即办",
        "URL": "ftp://example.org/apply",
        "visit_number": "两次",
        "courier_service": "可能",
        "theme_category": ["交通出行", "其他"],
        "material_intro": ["居民身份证", "照片", "居民身份证"],
        "DEPT_NAME": "广东省测试厅",
        "ORGCODE": "TEST0001X",
        "co_department": "省级测试（受理,会签）、县级测试（审核）",
    }
    lines = [
        messy,  # 1
        b"{not json",  # 2
        b"[1, 2]",  # 3
        {**price, "TASK_CODE": "TEST-NONAME", "TASK_NAME": "无"},  # 4
        {**price, "TASK_CODE": "TEST-MESSY", "TASK_NAME": "又一个"},  # 5
        b"",  # 6: blank, not a row
        {
            **price,
            "TASK_CODE": "TEST-TYPE",
            "matter_type": "行政检查",
            "TASK_TYPE_TEXT": "行政检查",
        },
        {**price, "TASK_CODE": "TEST-REGION", "AREACODE": "440300", "handle_time": "9(自然日)"},
        b"\xff\xfe{}",  # 9
        {**price, "TASK_CODE": "TEST-LONG", "TASK_NAME": "长" * 201},  # 10
    ]
    feed = tmp_path / "messy.jsonl"
    write_lines(feed, lines)
    report_path = tmp_path / "report.jsonl"

    output = run_command(str(feed), "--report", str(report_path))

    report = [json.loads(line) for line in report_path.read_text().splitlines()]
    skipped = [
        (r["line"], r["task_code"], r["field"], r["reason"])
        for r in report
        if r["kind"] == "skipped"
    ]
    assert skipped == [
        (2, "", "line", "not valid JSON (Expecting property name enclosed in double quotes)"),
        (3, "", "line", "not a JSON object"),
        (4, "TEST-NONAME", "TASK_NAME", "TASK_NAME is missing"),
        (5, "TEST-MESSY", "TASK_CODE", "duplicate of line 1"),
        (7, "TEST-TYPE", "matter_type", "unknown item type"),
        (8, "TEST-REGION", "AREACODE", "unknown region"),
        (9, "", "line", "not UTF-8 text"),
        (10, "TEST-LONG", "name", "longer than 200 characters"),
    ]
    corrected = [
        (r["line"], r["field"], r["raw"], r["reason"]) for r in report if r["kind"] == "corrected"
    ]
    assert corrected == [
        (1, "handle_time", "20个工作日", "working days, unusual spelling; converted"),
        (1, "handle_time_limit", "即办", "handled on the spot; converted to 0"),
        (1, "visit_number", "两次", "not a number of trips; left at 1"),
        (1, "courier_service", "可能", "not understood; taken as no"),
        (1, "URL", "ftp://example.org/apply", "not a valid http(s) address; left empty"),
        (1, "co_department", "省级测试（受理,会签）", "unknown stage '会签'; not recorded"),
        (
            1,
            "co_department",
            "县级测试（审核）",
            "no region for level '县级' in this feed; not recorded",
        ),
    ]
    departments = [(r["field"], r["reason"]) for r in report if r["kind"] == "department"]
    assert departments == [("DEPT_NAME", "created 广东省测试厅")]
    assert report[-1] == {
        "kind": "summary",
        "path": str(feed),
        "rows": 9,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "skipped": 8,
        "corrected": 7,
        "departments_created": 1,
        "themes_created": 1,
        "regions_created": 1,
        "seconds": report[-1]["seconds"],
    }
    assert "line 4 TEST-NONAME: TASK_NAME '无': TASK_NAME is missing" in output
    assert "Items: 1 created, 0 updated, 0 unchanged, 8 skipped (9 rows read)" in output
    assert f"Report written to {report_path}." in output

    item = ServiceItem.objects.select_related("department", "region").get(code="TEST-MESSY")
    assert (item.statutory_days, item.promised_days, item.trips, item.courier) == (20, 0, 1, False)
    assert item.online_url == ""
    assert (item.department.name, item.department.code) == ("广东省测试厅", "440000-test0001x")
    assert item.region.code == "440000"
    assert list(item.themes.values_list("name", "slug")) == [("交通出行", "jiao-tong-chu-xing")]
    assert list(item.materials.values_list("name", "source")) == [
        ("居民身份证", "issued"),
        ("照片", "applicant"),
    ]
    assert [(s.department.name, s.stage) for s in item.joint_stages.all()] == [
        ("广东省测试厅", "accept")
    ]
    assert list(item.versions.values_list("number", "note")) == [(1, "gdzwfw import")]
    assert item.version == 1


@pytest.mark.django_db
def test_an_update_replaces_themes_stages_and_materials(gd_feed, tmp_path):
    college = next(row for row in feed_objects(gd_feed) if row["TASK_CODE"] == COLLEGE)
    feed = tmp_path / "one.jsonl"
    write_lines(feed, [college])
    assert gdzwfw_import(path=feed).created == 1
    write_lines(
        feed,
        [
            {
                **college,
                "theme_category": ["教育科研"],
                "co_department": "省级教育（受理,审核）、市级教育（审核）",
                "material_intro": ["学校章程", "居民身份证"],
            }
        ],
    )

    report = gdzwfw_import(path=feed)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    item = ServiceItem.objects.get(code=COLLEGE)
    snapshot = item.versions.get(number=2).snapshot
    assert (item.version, snapshot["themes"]) == (2, ["教育科研"])
    assert snapshot["joint_stages"] == [
        {"department": "广东省教育厅", "stage": "accept"},
        {"department": "广东省教育厅", "stage": "review"},
        {"department": "广州市教育局", "stage": "review"},
    ]
    assert [(m["name"], m["source"]) for m in snapshot["materials"]] == [
        ("学校章程", "applicant"),
        ("居民身份证", "issued"),
    ]
    assert item.versions.get(number=1).snapshot["themes"] == ["设立变更"]
    assert len(item.versions.get(number=1).snapshot["joint_stages"]) == 12
    assert gdzwfw_import(path=feed).unchanged == 1
    assert item.versions.count() == 2


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.django_db
def test_progress_bar_only_on_a_terminal(gd_feed, tmp_path, capsys):
    feed = tmp_path / "three.jsonl"
    write_lines(feed, feed_objects(gd_feed)[:3])
    args = ("import_items", str(feed), "--format", "gdzwfw")
    call_command(*args, stdout=Terminal())
    assert "gdzwfw: 100%" in capsys.readouterr().err
    for flags, stdout in (([], StringIO()), (["--no-progress"], Terminal())):
        call_command(*args, *flags, stdout=stdout)
        assert capsys.readouterr().err == ""


# On the real feed, imported once -------------------------------------------------------------


@pytest.mark.django_db
def test_the_whole_feed_is_imported(gd_catalog):
    report = gd_catalog
    assert report.counts() == {
        "rows": 2262,
        "created": 2262,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "corrected": 64,
        # 177 departments of DEPT_NAME and 3 that only co_department names (JOINT_CREATED)
        "departments_created": 180,
        "themes_created": 51,  # 52 theme names in the feed, less 其他
        "regions_created": 2,
    }
    assert Counter((i.field, i.reason) for i in report.corrected) == {
        ("co_department", "no department named; not recorded"): 15,
        ("co_department", "no region for level '县级' in this feed; not recorded"): 13,
        ("co_department", "no region for level '国家级' in this feed; not recorded"): 6,
        ("consult_phone", "longer than 120 characters; kept the phone numbers only"): 17,
        ("handle_time", "calendar days cannot be counted as working days; left empty"): 11,
        ("handle_time_limit", "calendar days cannot be counted as working days; left empty"): 2,
    }
    assert [i.reason for i in report.departments if i.field == "co_department"] == [
        f"created {name}" for name in JOINT_CREATED
    ]

    items = ServiceItem.objects.filter(source="gdzwfw")
    assert items.count() == 2262
    assert set(items.values_list("version", flat=True)) == {1}
    assert ServiceItemVersion.objects.filter(item__source="gdzwfw").count() == 2262
    assert Material.objects.filter(item__source="gdzwfw").count() == 3434
    assert JointStage.objects.filter(item__source="gdzwfw").count() == 366
    assert items.filter(joint_stages__isnull=False).distinct().count() == 85
    assert items.filter(counter=False).count() == 824
    assert dict(Counter(items.values_list("item_type", flat=True))) == {
        "ggfw": 1586,
        "xzxk": 510,
        "qtql": 77,
        "xzjl": 52,
        "xzqr": 26,
        "xzgf": 8,
        "xzcj": 3,
    }
    assert items.filter(region__code="440100").count() == 238
    gd = Department.objects.filter(region__code__in=["440000", "440100"])
    assert gd.count() == 180
    assert gd.filter(region__code="440100").count() == 13
    assert not Theme.objects.filter(name="其他").exists()
    province, city = Region.objects.get(code="440000"), Region.objects.get(code="440100")
    assert (province.name, province.level, province.parent_id) == ("广东省", "province", None)
    assert (city.name, city.level, city.parent_id) == ("广州市", "city", province.pk)


@pytest.mark.django_db
def test_an_item_has_every_mapped_field(gd_catalog):
    item = ServiceItem.objects.select_related("department__region").get(code=PRICE)
    assert {f: getattr(item, f) for f in gdzwfw.FEED_FIELDS} == {
        "code": PRICE,
        "basic_code": "440101007000",
        "main_code": "440101007000",
        "main_name": "临时价格干预范围事项提价申报",
        "sub_name": "",
        "name": "临时价格干预范围事项提价申报",
        "item_type": "xzxk",
        "for_citizens": True,
        "for_enterprises": True,
        "legal_basis": "《广东省实施〈中华人民共和国价格法〉办法》",
        "acceptance_conditions": item.acceptance_conditions,
        "statutory_days": 30,
        "promised_days": 7,
        "trips": 0,
        "online": True,
        "counter": True,
        "courier": True,
        "appointment": True,
        "consult_phone": "020-34121084",
        "complaint_phone": "020-83134173",
        "location": "广州市越秀区东风中路305号5号楼808房",
        "online_url": "https://www.gdzwfw.gov.cn/gaio/apply.html#/11440000006939756B2440101007000",
    }
    assert item.acceptance_conditions.startswith(
        "《广东省实施〈中华人民共和国价格法〉办法》第二十九条"
    )
    assert (item.mobile, item.id_only, item.is_active, item.source) == (
        False,
        False,
        True,
        "gdzwfw",
    )
    assert (item.department.name, item.department.code, item.department.kind) == (
        "广东省发展和改革委员会",
        "440000-006939756",
        "other",
    )
    assert item.department.region.code == "440000"
    assert item.region_id == item.department.region_id
    assert list(item.materials.values_list("name", "source", "form", "required")) == [
        ("提价申报申请报告", "applicant", "electronic", True)
    ]
    assert not item.themes.exists()  # its only theme is 其他
    assert not item.joint_stages.exists()
    version = item.versions.get()
    assert (version.number, version.note, version.published_by) == (1, "gdzwfw import", None)
    assert version.snapshot["materials"][0]["name"] == "提价申报申请报告"
    assert version.snapshot["department"] == {
        "code": "440000-006939756",
        "name": "广东省发展和改革委员会",
    }


@pytest.mark.django_db
def test_a_guangzhou_item(gd_catalog):
    item = ServiceItem.objects.select_related("department", "region").get(code=TEACHER)
    assert (item.region.code, item.department.name, item.department.kind) == (
        "440100",
        "广州市教育局",
        "jiaoyu",
    )
    assert (item.for_citizens, item.for_enterprises) == (True, False)
    assert (item.statutory_days, item.promised_days, item.trips) == (30, 12, 0)
    assert item.location == "广州市天河区华利路61号广州市政务服务中心3楼综合受理窗口305-313"
    assert item.legal_basis == ""
    assert item.acceptance_conditions == "认定条件： 1.思想品德条件：无犯罪记录。"
    assert sorted(item.themes.values_list("name", flat=True)) == sorted(
        ["职业资格", "找工作", "高校毕业生", "人才"]
    )
    assert list(item.materials.values_list("name", "source")) == [
        ("二级乙等及以上普通话水平测试等级证书", "issued"),
        ("毕业证书", "issued"),
        ("相应层次学业成绩单", "applicant"),
        ("体检合格证明", "issued"),
        ("中小学和幼儿园教师资格考试合格证明", "issued"),
        ("专业技术职务证书或工人技术等级证书", "issued"),
    ]


@pytest.mark.django_db
def test_joint_handling_stages(gd_catalog):
    item = ServiceItem.objects.get(code=COLLEGE)
    stages = [(s.department.name, s.stage) for s in item.joint_stages.select_related("department")]
    assert stages == [
        ("广东省教育厅", "accept"),
        ("广东省教育厅", "review"),
        ("广东省教育厅", "decide"),
        ("广东省教育厅", "issue"),
        ("广东省发展和改革委员会", "review"),
        ("广东省科学技术厅", "review"),
        ("广东省工业和信息化厅", "review"),
        ("广东省财政厅", "review"),
        ("广东省人力资源和社会保障厅", "review"),
        ("广东省自然资源厅", "review"),
        ("广东省住房和城乡建设厅", "review"),
        ("广东省机构编制委员会办公室", "review"),
    ]
    assert item.versions.get().snapshot["joint_stages"][-1] == {
        "department": "广东省机构编制委员会办公室",
        "stage": "review",
    }
    assert item.legal_basis.splitlines() == [
        "《中华人民共和国高等教育法》",
        "《中华人民共和国民办教育促进法》",
        "《高等职业学校设置标准（暂行）》",
    ]
    created = Department.objects.get(name="广东省机构编制委员会办公室")
    assert (created.code, created.kind, created.region.code) == (
        "440000-jgbzwyhbgs",
        "other",
        "440000",
    )


@pytest.mark.django_db
def test_an_item_without_a_counter(gd_catalog):
    item = ServiceItem.objects.get(code=DRUG)
    assert (item.counter, item.location, item.online, item.courier) == (False, "", True, False)
    assert [(s.department.name, s.stage) for s in item.joint_stages.all()] == [
        ("广州市市场监督管理局", "accept"),
        ("广州市市场监督管理局", "review"),
        ("广州市市场监督管理局", "decide"),
        ("广东省药品监督管理局", "review"),
        ("广东省药品监督管理局", "decide"),
        ("广东省药品监督管理局", "issue"),
    ]
    city_market = Department.objects.get(name="广州市市场监督管理局")
    assert (city_market.code, city_market.kind) == ("440100-scjdglj", "shichang")
    assert item.department == Department.objects.get(name="广东省药品监督管理局")


@pytest.mark.django_db
def test_calendar_days_are_left_empty_and_reported(gd_catalog):
    item = ServiceItem.objects.get(code=CALENDAR)
    assert (item.statutory_days, item.promised_days) == (None, None)
    assert [(i.field, i.raw) for i in gd_catalog.corrected if i.task_code == CALENDAR] == [
        ("handle_time", "90(自然日)"),
        ("handle_time_limit", "90(自然日)"),
    ]


@pytest.mark.django_db
def test_a_second_run_changes_nothing(gd_catalog, gd_feed, tmp_path, capsys):
    before = catalog_state()
    published = dict(ServiceItem.objects.values_list("code", "updated_at"))
    report_path = tmp_path / "again.jsonl"

    output = run_command(str(gd_feed), "--report", str(report_path))

    assert "Items: 0 created, 0 updated, 2262 unchanged, 0 skipped" in output
    assert "Created: 0 departments, 0 themes, 0 regions." in output
    assert "Wall time: " in output
    assert capsys.readouterr().err == ""  # no progress bar when stdout is not a terminal
    assert catalog_state() == before
    assert dict(ServiceItem.objects.values_list("code", "updated_at")) == published
    lines = [json.loads(line) for line in report_path.read_text().splitlines()]
    assert Counter(line["kind"] for line in lines) == {"corrected": 64, "summary": 1}
    assert lines[-1]["unchanged"] == 2262


@pytest.mark.django_db
def test_a_changed_row_makes_one_new_version(gd_catalog, gd_feed, tmp_path):
    ServiceItem.objects.filter(code=PRICE).update(popularity=42)
    rows = feed_objects(gd_feed)
    assert rows[0]["TASK_CODE"] == PRICE
    rows[0]["handle_time_limit"] = "5(工作日)"
    feed = tmp_path / "changed.jsonl"
    write_lines(feed, rows)
    versions = ServiceItemVersion.objects.count()

    report = gdzwfw_import(path=feed)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 2261)
    item = ServiceItem.objects.get(code=PRICE)
    assert (item.version, item.promised_days, item.popularity) == (2, 5, 42)
    assert list(item.versions.values_list("number", flat=True)) == [2, 1]
    old, new = item.versions.get(number=1), item.versions.get(number=2)
    assert (old.snapshot["promised_days"], new.snapshot["promised_days"]) == (7, 5)
    assert new.snapshot["materials"] == old.snapshot["materials"]
    assert item.materials.count() == 1
    assert ServiceItemVersion.objects.count() == versions + 1
    assert set(ServiceItem.objects.exclude(code=PRICE).values_list("version", flat=True)) == {1}


@pytest.mark.django_db
def test_the_fixture_removes_what_the_import_created(gd_catalog):
    from tests.catalog.conftest import gd_catalog_remove

    gd_catalog_remove(gd_catalog)  # inside this test's transaction: rolled back afterwards

    assert catalog_state() == {
        "items": 0,
        "versions": 0,
        "materials": 0,
        "stages": 0,
        "item_themes": 0,
        "themes": 0,
        "departments": 0,
        "regions": 0,
    }
