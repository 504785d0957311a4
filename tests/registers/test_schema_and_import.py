"""What enters a register: ``schema.validate`` names every wrong field, and the import command
takes a whole file or nothing, naming each bad row by its number (the first data row is row 1)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone, translation
from django.utils.translation import gettext

from departments.models import Department
from registers.models import Record
from registers.schema import BIRTH, POPULATION, REGISTERS, validate
from tests.factories import DepartmentFactory, make_id_number

pytestmark = pytest.mark.django_db

ID_1 = make_id_number(11, "19900307")
ID_2 = make_id_number(12, "19920508")
ID_3 = make_id_number(13, "19880815")


def wrong_check(id_number: str) -> str:
    """The same number with a check character that is not its own."""
    return id_number[:17] + ("0" if id_number[17] != "0" else "1")


def person(id_number: str = ID_1, **overrides) -> dict:
    data = {
        "id_number": id_number,
        "name": "张小明",
        "sex": "男",
        "birth_date": f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}",
        "hukou_region": "330106",
        "hukou_address": "杭州市西湖区文三路 100 号",
        "household_no": "HH0001",
        "household_role": "户主",
    }
    data.update(overrides)
    return data


def birth(**overrides) -> dict:
    data = {
        "mother_id_number": ID_2,
        "mother_name": "陈静",
        "father_id_number": ID_1,
        "father_name": "张小明",
        "born_at": "2024-03-01T08:30",
        "sex": "女",
        "weight_g": "3250",
        "hospital": "浙江大学医学院附属妇产科医院",
        "certificate_no": "",
    }
    data.update(overrides)
    return data


def tomorrow() -> str:
    return (timezone.localdate() + dt.timedelta(days=1)).isoformat()


def messages_of(exc: ValidationError) -> dict[str, list[str]]:
    return {name: list(messages) for name, messages in exc.message_dict.items()}


# ---------------------------------------------------------------- validate()


def test_a_valid_record_is_cleaned():
    clean = validate(BIRTH, birth(mother_id_number=f" {ID_2.lower()} ", certificate_no=None))
    assert clean == {
        "mother_id_number": ID_2,
        "mother_name": "陈静",
        "father_id_number": ID_1,
        "father_name": "张小明",
        "born_at": "2024-03-01T08:30+08:00",
        "sex": "女",
        "weight_g": 3250,
        "hospital": "浙江大学医学院附属妇产科医院",
    }


def test_a_wrong_check_digit_is_named_with_its_field_and_code():
    with pytest.raises(ValidationError) as caught:
        validate(POPULATION, person(wrong_check(ID_1)))
    with translation.override("en"):  # the core's message is lazy: read in the page's language
        assert messages_of(caught.value) == {
            "id_number": ["The check digit of this ID number is wrong; please check the number."]
        }
    assert [e.code for e in caught.value.error_dict["id_number"]] == ["id_number_checksum"]


def test_a_future_date_and_a_future_time_are_refused():
    later = (timezone.localtime() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    with translation.override("en"):
        with pytest.raises(ValidationError) as caught:
            validate(POPULATION, person(birth_date=tomorrow()))
        assert messages_of(caught.value) == {"birth_date": ["This date is in the future."]}
        with pytest.raises(ValidationError) as caught:
            validate(BIRTH, birth(born_at=later))
        assert messages_of(caught.value) == {"born_at": ["This time is in the future."]}


def test_an_unknown_field_is_named_with_the_registers_fields():
    with translation.override("en"):
        with pytest.raises(ValidationError) as caught:
            validate(POPULATION, person(nickname="小明"))
        assert messages_of(caught.value) == {
            "nickname": [
                "Unknown field “nickname” for the public security population register; its "
                "fields are: id_number, name, sex, birth_date, hukou_region, hukou_address, "
                "household_no, household_role."
            ]
        }


def test_a_bad_choice_an_int_out_of_range_and_a_missing_field_are_each_named():
    data = birth(sex="未知", weight_g="200")
    del data["hospital"]
    with translation.override("en"):
        with pytest.raises(ValidationError) as caught:
            validate(BIRTH, data)
        assert messages_of(caught.value) == {
            "sex": ["Choose one of: 男、女."],
            "weight_g": ["Give a number from 300 to 8000."],
            "hospital": ["Required."],
        }


def test_every_wrong_field_is_named_at_once():
    bad = person(
        wrong_check(ID_1), sex="M", birth_date="1990/03/07", hukou_region="3301", extra="x"
    )
    with translation.override("en"):
        with pytest.raises(ValidationError) as caught:
            validate(POPULATION, bad)
        errors = messages_of(caught.value)
    assert sorted(errors) == ["birth_date", "extra", "hukou_region", "id_number", "sex"]
    assert errors["birth_date"] == ["Write the date as YYYY-MM-DD."]
    assert errors["hukou_region"] == ["A region code has 6 digits."]
    assert errors["sex"] == ["Choose one of: 男、女."]


def test_validate_answers_in_chinese_where_the_message_is_translated():
    data = person()
    del data["name"]
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as caught:
            validate(POPULATION, {**data, "id_number": wrong_check(ID_1)})
        assert messages_of(caught.value) == {
            "id_number": ["该身份证号码校验位错误，请核对号码。"],
            "name": [zh("Required.")],
        }
    assert zh("Required.") != "Required."


# ---------------------------------------------------------------- the import command


@pytest.fixture
def departments():
    return {
        "gongan": DepartmentFactory(code="330100-gongan", name="杭州市公安局", kind="gongan"),
        "weijian": DepartmentFactory(
            code="330100-weijian", name="杭州市卫生健康委员会", kind="weijian"
        ),
    }


def write_csv(path, rows: list[dict]) -> str:
    names = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=names)
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def write_jsonl(path, rows: list[dict]) -> str:
    path.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    return str(path)


def run_import(register: str, path: str, department: str) -> str:
    out = io.StringIO()
    call_command("import_register", register, path, "--department", department, stdout=out)
    return out.getvalue()


def snapshot() -> list[tuple]:
    return list(
        Record.objects.order_by("pk").values_list(
            "pk", "register", "owner_id", "key", "subject", "party", "household", "data", "source"
        )
    )


def test_a_csv_file_is_imported_and_reported(tmp_path, departments):
    path = write_csv(tmp_path / "people.csv", [person(ID_1), person(ID_2, name="陈静", sex="女")])
    out = run_import("population", path, "330100-gongan")
    assert out == "population: 2 records created, 0 updated (held by 330100-gongan).\n"
    records = {r.subject: r for r in Record.objects.all()}
    assert sorted(records) == sorted([ID_1, ID_2])
    mine = records[ID_1]
    assert (mine.register, mine.owner, mine.key, mine.party, mine.household, mine.source) == (
        "population",
        departments["gongan"],
        ID_1,
        "",
        "HH0001",
        "people.csv",
    )
    assert mine.data == person(ID_1)


def test_a_jsonl_file_is_imported_with_subject_party_and_key(tmp_path, departments):
    rows = [
        birth(),
        birth(mother_id_number=ID_3, mother_name="李晓红", born_at="2024-04-02 09:15"),
    ]
    rows[1]["weight_g"] = 2980  # a JSON number is as good as a string
    del rows[1]["father_id_number"], rows[1]["father_name"]
    out = run_import("birth", write_jsonl(tmp_path / "births.jsonl", rows), "330100-weijian")
    assert out == "birth: 2 records created, 0 updated (held by 330100-weijian).\n"
    first = Record.objects.get(subject=ID_2)
    assert (first.register, first.key, first.party) == (
        "birth",
        f"{ID_2}|2024-03-01T08:30+08:00",
        ID_1,
    )
    assert "certificate_no" not in first.data  # an empty optional column is no value
    second = Record.objects.get(subject=ID_3)
    assert (second.key, second.party, second.data["weight_g"]) == (
        f"{ID_3}|2024-04-02T09:15+08:00",
        "",
        2980,
    )


def test_one_bad_row_among_good_ones_refuses_the_whole_csv(tmp_path, departments):
    run_import("population", write_csv(tmp_path / "old.csv", [person(ID_3)]), "330100-gongan")
    before = snapshot()
    rows = [
        person(ID_1),
        person(wrong_check(ID_2), name="陈静", sex="女"),
        person(ID_3, name="改过的名字"),  # an update that must not happen either
    ]
    with translation.override("en"), pytest.raises(CommandError) as caught:
        run_import("population", write_csv(tmp_path / "new.csv", rows), "330100-gongan")
    assert str(caught.value) == (
        "Nothing was imported.\n"
        "Row 2: id_number: The check digit of this ID number is wrong; please check the number."
    )
    assert snapshot() == before


def test_every_bad_row_of_a_jsonl_file_is_named_and_nothing_changes(tmp_path, departments):
    before = snapshot()
    rows = [
        birth(),
        birth(mother_id_number=ID_3, born_at=tomorrow() + "T08:00", weight_g="heavy"),
        birth(sex="?", colour="red"),
        birth(),  # the same record as row 1
    ]
    with translation.override("en"), pytest.raises(CommandError) as caught:
        run_import("birth", write_jsonl(tmp_path / "births.jsonl", rows), "330100-weijian")
    assert str(caught.value).split("\n") == [
        "Nothing was imported.",
        "Row 2: born_at: This time is in the future.",
        "Row 2: weight_g: Write a whole number.",
        "Row 3: colour: Unknown field “colour” for the birth medical records; its fields are: "
        "mother_id_number, mother_name, father_id_number, father_name, born_at, sex, weight_g, "
        "hospital, certificate_no, first_doses.",
        "Row 3: sex: Choose one of: 男、女.",
        f"Row 4: the same record as an earlier row ({ID_2}|2024-03-01T08:30+08:00).",
    ]
    assert snapshot() == before == []


def test_a_reimport_updates_records_by_key(tmp_path, departments):
    run_import(
        "population", write_csv(tmp_path / "a.csv", [person(ID_1), person(ID_2)]), "330100-gongan"
    )
    pks = dict(Record.objects.values_list("subject", "pk"))
    out = run_import(
        "population",
        write_jsonl(
            tmp_path / "b.jsonl",
            [person(ID_2, hukou_address="杭州市上城区清泰街 200 号"), person(ID_3)],
        ),
        "330100-gongan",
    )
    assert out == "population: 1 records created, 1 updated (held by 330100-gongan).\n"
    assert Record.objects.count() == 3
    updated = Record.objects.get(subject=ID_2)
    assert updated.pk == pks[ID_2]
    assert updated.data["hukou_address"] == "杭州市上城区清泰街 200 号"
    assert updated.source == "b.jsonl"
    untouched = Record.objects.get(subject=ID_1)
    assert (untouched.pk, untouched.source) == (pks[ID_1], "a.csv")


def test_a_department_of_the_wrong_kind_is_refused(tmp_path, departments):
    path = write_csv(tmp_path / "people.csv", [person(ID_1)])
    with translation.override("en"), pytest.raises(CommandError) as caught:
        run_import("population", path, "330100-weijian")
    assert str(caught.value) == (
        "Nothing was imported.\nThe public security population register is held by a department "
        "of kind gongan, not by 杭州市卫生健康委员会."
    )
    assert Record.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "content", "department", "message"),
    [
        ("people.csv", "id_number\n", "330100-nowhere", "No department with code 330100-nowhere."),
        ("people.txt", "id_number\n", "330100-gongan", "Give a .csv or a .jsonl file."),
        (
            "people.csv",
            "id_number,name\n",
            "330100-gongan",
            "Nothing was imported.\nThe file has no rows.",
        ),
        (
            "people.jsonl",
            '{"id_number": "1"}\n{oops\n',
            "330100-gongan",
            "Line 2: not JSON (Expecting property name enclosed in double quotes).",
        ),
        (
            "people.jsonl",
            '["a list"]\n',
            "330100-gongan",
            "Line 1: each line must be one JSON object.",
        ),
    ],
    ids=["unknown-department", "unknown-format", "no-rows", "not-json", "not-an-object"],
)
def test_a_file_that_cannot_be_read_is_refused(
    tmp_path, departments, name, content, department, message
):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with translation.override("en"), pytest.raises(CommandError) as caught:
        run_import("population", str(path), department)
    assert str(caught.value) == message
    assert Record.objects.count() == 0


def test_a_csv_row_longer_than_its_header_is_refused_row_by_row(tmp_path, departments):
    """A row with more cells than the header has columns: csv puts the extra cells under the key
    None, which the check must report as a problem of that row, not crash on."""
    path = tmp_path / "people.csv"
    good = person(ID_1)
    path.write_text(
        ",".join([*good, "nickname"])
        + "\n"
        + ",".join([*good.values(), "小明"])
        + "\n"
        + ",".join([*person(ID_2).values(), "", "surplus"])
        + "\n",
        encoding="utf-8",
    )
    with translation.override("en"), pytest.raises(CommandError) as caught:
        run_import("population", str(path), "330100-gongan")
    lines = str(caught.value).split("\n")
    assert lines[0] == "Nothing was imported."
    assert lines[1].startswith("Row 1: nickname: Unknown field “nickname”")
    assert lines[2:] == ["Row 2: more cells than the header has columns."]
    assert Record.objects.count() == 0


# ---------------------------------------------------------------- in Chinese


def zh(message: str, **params) -> str:
    with translation.override("zh-hans"):
        text = gettext(message)
    return text % params if params else text


def test_the_import_refusal_reads_in_chinese(tmp_path, departments):
    """The row message as the Chinese catalog gives it, around the core's (translated) ID
    number message."""
    rows = [person(ID_1), person(wrong_check(ID_2))]
    with translation.override("zh-hans"), pytest.raises(CommandError) as caught:
        run_import("population", write_csv(tmp_path / "people.csv", rows), "330100-gongan")
    problem = "id_number: 该身份证号码校验位错误，请核对号码。"
    assert str(caught.value) == "Nothing was imported.\n" + zh(
        "Row %(row)s: %(problem)s", row=2, problem=problem
    )
    assert str(caught.value).endswith("\n第 2 行：id_number: 该身份证号码校验位错误，请核对号码。")
    with translation.override("zh-hans"), pytest.raises(CommandError) as caught:
        run_import("population", write_csv(tmp_path / "ok.csv", [person(ID_1)]), "330100-weijian")
    register = zh("public security population register")
    assert str(caught.value) == "Nothing was imported.\n" + zh(
        "The %(register)s is held by a department of kind %(kind)s, not by %(owner)s.",
        register=register,
        kind="gongan",
        owner="杭州市卫生健康委员会",
    )
    assert Record.objects.count() == 0


# The registers' own messages the tests above read; each must have its Chinese translation.
REGISTERS_MESSAGES = [
    "Row %(row)s: %(problem)s",
    "Row %(row)s: the same record as an earlier row (%(key)s).",
    "The file has no rows.",
    "The %(register)s is held by a department of kind %(kind)s, not by %(owner)s.",
    "Unknown field “%(field)s” for the %(register)s; its fields are: %(known)s.",
    "This date is in the future.",
    "This time is in the future.",
    "Write the date as YYYY-MM-DD.",
    "Choose one of: %(choices)s.",
    "Give a number from %(min)s to %(max)s.",
    "Write a whole number.",
    "A region code has 6 digits.",
    "public security population register",
    "birth medical records",
    "marriage records",
    "social insurance enrolment",
    "medical insurance enrolment",
]


def test_the_registers_messages_are_translated_into_chinese():
    assert {r for r in REGISTERS} == {
        "population",
        "birth",
        "marriage",
        "social_insurance",
        "medical_insurance",
    }
    untranslated = [m for m in REGISTERS_MESSAGES if zh(m) == m]
    assert untranslated == []


def test_department_kinds_used_by_the_registers_exist():
    kinds = {choice for choice, _label in Department.Kind.choices}
    assert {r.owner_kind for r in REGISTERS.values()} <= kinds
