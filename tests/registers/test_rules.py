"""The eligibility rule language: what parses, what is refused and why, and what a rule says
about a citizen's facts (True, False, or None when the registers do not hold a fact)."""

from __future__ import annotations

import pytest
from django.utils import translation

from registers.rules import FACTS, Operand, RuleError, evaluate, parse_rule, plain


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def person(**facts) -> dict:
    base = {
        "registered": True,
        "hukou_region": "330106",
        "hukou_city": "330100",
        "hukou_province": "330000",
        "sex": "女",
        "age_years": 34,
    }
    base.update(facts)
    return base


def facts(**subjects) -> dict:
    base = {
        "region": {"code": "330106", "city": "330100", "province": "330000"},
        "applicant": person(sex="男", age_years=36, is_parent=True, married=True),
        "baby": {"registered": True, "age_days": 6, "sex": "女", "has_certificate": False},
        "mother": person(),
        "father": person(sex="男", age_years=36),
        "spouse": person(),
    }
    base.update(subjects)
    return base


# ---------------------------------------------------------------- parsing


def test_a_rule_parses_into_its_operands():
    rule = parse_rule("  baby.age_days   <=  30 ")
    assert rule.text == "baby.age_days <= 30"
    assert (rule.left, rule.op, rule.right) == (
        Operand(path=("baby", "age_days")),
        "<=",
        Operand(literal=30),
    )


@pytest.mark.parametrize(
    ("text", "right"),
    [
        ("applicant.medical_insured == true", Operand(literal=True)),
        ("baby.has_certificate != false", Operand(literal=False)),
        ('applicant.sex == "女"', Operand(literal="女")),
        ("region.code == '330106'", Operand(literal="330106")),
        ("applicant.age_years > -1", Operand(literal=-1)),
        ("any_parent.hukou_city == region.city", Operand(path=("region", "city"))),
    ],
)
def test_literals_and_facts_on_the_right(text, right):
    assert parse_rule(text).right == right


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "pet.age_days <= 30",
            "unknown subject “pet”; the subjects are: applicant, mother, father, any_parent, "
            "spouse, baby, region.",
        ),
        (
            "baby.weight_g <= 30",
            "unknown fact “baby.weight_g”; baby has: registered, age_days, sex, has_certificate.",
        ),
        (
            "region.city == applicant.hukou",
            "unknown fact “applicant.hukou”; applicant has: registered, hukou_region, hukou_city, "
            "hukou_province, age_years, sex, social_insured, medical_insured, is_parent, married.",
        ),
        (
            "baby.age_days <= '30'",
            "“baby.age_days” and “'30'” cannot be compared: one is a number, the other text.",
        ),
        (
            "applicant.married == 1",
            "“applicant.married” and “1” cannot be compared: one is true or false, the other a "
            "number.",
        ),
        (
            "mother.hukou_city == baby.age_days",
            "“mother.hukou_city” and “baby.age_days” cannot be compared: one is text, the other "
            "a number.",
        ),
        ('applicant.sex < "男"', "“<” compares numbers only; use == or != for text."),
        (
            "baby.has_certificate >= true",
            "“>=” compares numbers only; use == or != for true or false.",
        ),
        ("30 >= 20", "a rule compares at least one fact."),
        *(
            (
                text,
                "write a rule as “fact operator value”, e.g. “baby.age_days <= 30”; the operators "
                "are == != <= >= < >.",
            )
            for text in ("", "baby.age_days", "baby.age_days = 30", "baby.age_days <= 30 or 1")
        ),
    ],
)
def test_a_wrong_rule_is_refused_saying_why(text, message):
    with pytest.raises(RuleError) as caught:
        parse_rule(text)
    assert str(caught.value) == message


def test_every_fact_a_rule_may_name_parses():
    for subject, names in FACTS.items():
        for name, kind in names.items():
            literal = {bool: "true", int: "1", str: '"x"'}[kind]
            assert parse_rule(f"{subject}.{name} == {literal}").left.path == (subject, name)


# ---------------------------------------------------------------- evaluating


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("baby.age_days <= 30", True),
        ("baby.age_days <= 6", True),
        ("baby.age_days < 6", False),
        ("baby.age_days > 5", True),
        ("baby.age_days >= 7", False),
        ("baby.age_days == 6", True),
        ("baby.age_days != 6", False),
        ("applicant.married == true", True),
        ("baby.has_certificate == true", False),
        ("mother.hukou_city == region.city", True),
        ("region.city == father.hukou_city", True),
        ('applicant.sex == "女"', False),
        ("applicant.age_years >= 18", True),
    ],
)
def test_a_rule_holds_or_not(text, expected):
    assert evaluate(parse_rule(text), facts()) is expected


def test_a_fact_the_registers_do_not_hold_is_unknown():
    no_baby = facts(baby=None, mother=None, father=None)
    assert evaluate(parse_rule("baby.age_days <= 30"), no_baby) is None
    assert evaluate(parse_rule("mother.hukou_city == region.city"), no_baby) is None
    # A person the registers hold, without this one fact (no date of birth on record).
    undated = facts(applicant={k: v for k, v in person().items() if k != "age_years"})
    assert evaluate(parse_rule("applicant.age_years >= 18"), undated) is None
    # A subject missing from the facts altogether is unknown too.
    assert evaluate(parse_rule("spouse.registered == true"), {"region": {}}) is None


def test_a_parent_elsewhere_is_known_not_to_hold():
    """A parent the birth record names but the province's register does not hold is a fact
    (registered False, no hukou here), not an unknown."""
    elsewhere = {"registered": False, "hukou_region": "", "hukou_city": "", "hukou_province": ""}
    rule = parse_rule("father.hukou_city == region.city")
    assert evaluate(rule, facts(father=elsewhere)) is False
    assert evaluate(parse_rule("father.registered == true"), facts(father=elsewhere)) is False


OTHER_CITY = person(hukou_region="110105", hukou_city="110100", hukou_province="110000")
ELSEWHERE = {"registered": False, "hukou_region": "", "hukou_city": "", "hukou_province": ""}


@pytest.mark.parametrize(
    ("mother", "father", "expected"),
    [
        (person(), person(sex="男"), True),  # both
        (person(), OTHER_CITY, True),  # the mother only
        (OTHER_CITY, person(sex="男"), True),  # the father only
        (OTHER_CITY, ELSEWHERE, False),  # neither
        (OTHER_CITY, None, None),  # the mother does not, the father is not known
        (None, person(sex="男"), True),  # the father does: enough
        (None, None, None),
    ],
    ids=["both", "mother", "father", "neither", "mother-no-father-unknown", "father", "none"],
)
def test_any_parent_holds_when_the_mother_or_the_father_does(mother, father, expected):
    rule = parse_rule("any_parent.hukou_city == region.city")
    assert evaluate(rule, facts(mother=mother, father=father)) is expected


def test_any_parent_compares_each_parent_with_themself_not_across():
    """Both sides naming any_parent read the same parent each time."""
    rule = parse_rule("any_parent.hukou_city != any_parent.hukou_province")
    assert evaluate(rule, facts()) is True
    same = person(hukou_city="X", hukou_province="X")
    assert evaluate(rule, facts(mother=same, father=same)) is False


def test_any_parent_with_a_number():
    rule = parse_rule("any_parent.age_years >= 35")
    assert evaluate(rule, facts()) is True  # the father is 36
    assert evaluate(rule, facts(father=person(age_years=30))) is False
    assert evaluate(rule, facts(father=None)) is None  # the mother is 34; the father unknown


def test_a_rule_in_words():
    assert plain(parse_rule("baby.age_days <= 30")) == "the baby · age_days <= 30"
    assert plain(parse_rule("any_parent.hukou_city == region.city")) == (
        "at least one parent · hukou_city == this service's region · city"
    )
    assert plain(parse_rule("applicant.married == true")) == "the applicant · married == yes"
