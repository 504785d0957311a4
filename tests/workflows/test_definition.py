import textwrap
import xml.etree.ElementTree as ET

import pytest
from django.utils import translation

from workflows.definition import (
    Definition,
    DefinitionError,
    Step,
    definition_to_text,
    parse_definition,
    parse_duration,
)
from workflows.diagram import render_svg

ITEMS = {
    "C-BIRTH": "C-BIRTH",
    "c-birth": "C-BIRTH",
    "C-HUKOU": "C-HUKOU",
    "C-CARD": "C-CARD",
    "C-INSURE": "C-INSURE",
    "C-OTHER": "C-OTHER",
    "11440000007502116": "11440000007502116",
}
DEPARTMENTS = {
    "卫健委": "health",
    "health": "health",
    "公安局": "police",
    "police": "police",
    "人社局": "hrss",
    "hrss": "hrss",
    "医保局": "medins",
    "medins": "medins",
}
ITEM_DEPARTMENTS = {
    "C-BIRTH": "health",
    "C-HUKOU": "police",
    "C-CARD": "hrss",
    "C-INSURE": "medins",
    "C-OTHER": "health",
}
BUNDLES = {"newborn": ["C-BIRTH", "C-HUKOU", "C-CARD", "C-INSURE"]}
NAMES = {"health": "卫健委", "police": "公安局", "hrss": "人社局", "medins": "医保局"}

NEWBORN = """\
bundle: newborn
asks: [mother_id_number, baby_name, birth_date, birth_hospital]
steps:
  birth_certificate: {item: C-BIRTH, by: 卫健委, due: 1 workday, gives: [birth_certificate_no]}
  hukou:             {item: C-HUKOU, by: 公安局, after: [birth_certificate], needs: [birth_certificate_no], due: 3 workdays}
  social_card:       {item: C-CARD, after: [hukou], due: 5 workdays}
  child_insurance:   {item: C-INSURE, by: 医保局, after: [hukou], due: 2 workdays}
"""  # noqa: E501


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def parse(text, **overrides):
    options = {
        "resolve_item": ITEMS.get,
        "resolve_department": DEPARTMENTS.get,
        "item_department": ITEM_DEPARTMENTS.get,
        "resolve_bundle_items": BUNDLES.get,
    }
    options.update(overrides)
    return parse_definition(textwrap.dedent(text), **options)


def errors_of(text, **overrides):
    with pytest.raises(DefinitionError) as raised:
        parse(text, **overrides)
    return [(error.line, error.code) for error in raised.value.errors], raised.value


def single_item(steps):
    """A one-item definition whose steps are the given lines (step lines start on line 3)."""
    return "item: C-OTHER\nsteps:\n" + textwrap.indent(textwrap.dedent(steps), "  ")


# The newborn example


def test_newborn_parses_in_topological_order():
    defn = parse(NEWBORN)

    assert defn.subject_kind == "bundle"
    assert defn.subject == "newborn"
    assert defn.asks == ("mother_id_number", "baby_name", "birth_date", "birth_hospital")
    assert [step.name for step in defn.steps] == [
        "birth_certificate",
        "hukou",
        "social_card",
        "child_insurance",
    ]
    assert defn.step("hukou") == Step(
        name="hukou",
        item="C-HUKOU",
        department="police",
        after=("birth_certificate",),
        gives=(),
        needs=("birth_certificate_no",),
        due_workdays=3,
        label="",
        line=5,
    )
    assert [step.line for step in defn.steps] == [4, 5, 6, 7]


def test_newborn_roots_parallel_steps_and_critical_path():
    defn = parse(NEWBORN)

    assert [step.name for step in defn.roots()] == ["birth_certificate"]
    assert [step.name for step in defn.successors("hukou")] == ["social_card", "child_insurance"]
    assert defn.successors("social_card") == ()
    assert defn.depths() == {
        "birth_certificate": 0,
        "hukou": 1,
        "social_card": 2,
        "child_insurance": 2,
    }
    # 1 + 3 + max(5, 2)
    assert defn.critical_path_workdays() == 9
    assert defn.data_sources("hukou") == {"birth_certificate_no": "birth_certificate"}


def test_omitted_by_takes_the_items_own_department():
    assert parse(NEWBORN).step("social_card").department == "hrss"


def test_step_without_by_fails_when_the_item_department_is_unknown():
    text = single_item("  a: {item: C-OTHER, due: 1}\n")

    found, error = errors_of(text, item_department=None)

    assert found == [(3, "missing_key")]
    assert "needs “by”" in error.errors[0].message


def test_order_follows_after_with_ties_in_text_order():
    defn = parse(
        single_item("""\
          late: {item: C-OTHER, by: health, after: [early, middle], due: 1}
          middle: {item: C-OTHER, by: health, due: 2}
          early: {item: C-OTHER, by: health, due: 3}
          side: {item: C-OTHER, by: health, after: [middle], due: 4}
        """)
    )

    assert [step.name for step in defn.steps] == ["middle", "early", "late", "side"]
    assert [step.name for step in defn.roots()] == ["middle", "early"]
    assert defn.critical_path_workdays() == 6


def test_item_definition_with_numeric_code_quoted_department_and_label():
    defn = parse("""\
        title: 出生登记
        item: 11440000007502116
        steps:
          register:
            item: 11440000007502116
            by: "health"
            due: 15 工作日
            label: 出生登记受理
          archive: {item: "11440000007502116", by: police, after: [register], due: 2个工作日}
    """)

    assert defn.title == "出生登记"
    assert defn.subject_kind == "item"
    assert defn.subject == "11440000007502116"
    assert defn.step("register").due_workdays == 15
    assert defn.step("register").display_name == "出生登记受理"
    assert defn.step("archive").display_name == "archive"
    assert defn.step("archive").due_workdays == 2


def test_item_codes_resolve_to_their_canonical_form():
    defn = parse(single_item("  a: {item: c-birth, by: health, due: 1}\n"))

    assert defn.step("a").item == "C-BIRTH"


# Durations


@pytest.mark.parametrize(
    ("value", "days"),
    [
        ("1 workday", 1),
        ("3 workdays", 3),
        ("3workdays", 3),
        ("3 Workdays", 3),
        ("3 工作日", 3),
        ("3个工作日", 3),
        ("3", 3),
        ("365", 365),
        ("0 workdays", 0),  # the same working day: an item handled on the spot
        ("0", 0),
    ],
)
def test_durations_accepted(value, days):
    assert parse_duration(value) == days


@pytest.mark.parametrize(
    "value",
    ["three days", "-1", "400 workdays", "366", "3 days", "1.5", "", "３ 工作日"],
)
def test_durations_refused(value):
    assert parse_duration(value) is None


@pytest.mark.parametrize("value", ["three days", "-1 workdays", "-1", "400 workdays"])
def test_bad_duration_is_reported_at_its_line(value):
    text = single_item(f"""\
      a: {{item: C-OTHER, by: health, due: 1}}
      b:
        item: C-OTHER
        by: health
        due: {value}
    """)

    found, error = errors_of(text)

    assert found == [(7, "bad_duration")]
    assert error.errors[0].column == 10
    assert error.errors[0].message == (
        f"Bad duration “{value}”: write a number of working days from 0 (the same working day) "
        "to 365, such as “3 workdays”."
    )


# Errors and their lines


def test_yaml_syntax_error_gives_its_line():
    text = "item: C-OTHER\nsteps:\n  a: {item: C-OTHER, due: 1\n  b: [\n"

    found, error = errors_of(text)

    assert found == [(4, "yaml_syntax")]
    assert error.errors[0].message.startswith("The text is not valid YAML: ")


def test_bad_indentation_gives_its_line():
    text = "item: C-OTHER\nsteps:\n  a: {item: C-OTHER, due: 1}\n   b: x\n"

    found, _error = errors_of(text)

    assert found == [(4, "yaml_syntax")]


def test_python_object_tag_is_refused():
    text = single_item("""\
      a: {item: C-OTHER, by: health, due: 1}
      b: {item: !!python/object/apply:os.system [echo hi], by: health, due: 1}
    """)

    found, error = errors_of(text)

    assert (4, "tag_not_allowed") in found
    assert "“!!python/object/apply:os.system” are not allowed" in str(error)


def test_text_over_64_kb_is_refused_before_parsing():
    text = single_item("  a: {item: C-OTHER, by: health, due: 1}\n") + "#" * (64 * 1024)

    found, error = errors_of(text)

    assert found == [(1, "too_long")]
    assert str(error) == "line 1: The definition is longer than 64 KB; split the workflow."


def test_more_than_100_steps_is_refused():
    steps = "".join(f"  s{n}: {{item: C-OTHER, by: health, due: 1}}\n" for n in range(101))

    found, error = errors_of(single_item(steps))

    assert found == [(2, "too_many_steps")]
    assert error.errors[0].message == "Too many steps: 101 given, at most 100 allowed."


def test_exactly_100_steps_is_fine():
    steps = "".join(f"  s{n}: {{item: C-OTHER, by: health, due: 1}}\n" for n in range(100))

    assert len(parse(single_item(steps)).steps) == 100


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", [(1, "empty")]),
        ("# nothing here\n", [(1, "empty")]),
        ("- a\n- b\n", [(1, "not_mapping")]),
        ("\n\njust words\n", [(3, "not_mapping")]),
    ],
)
def test_document_that_is_not_a_mapping(text, expected):
    found, _error = errors_of(text)

    assert found == expected


def test_top_level_key_errors():
    text = """\
        item: C-OTHER
        bundle: newborn
        colour: blue
        asks: baby_name
        steps: [a, b]
    """

    found, error = errors_of(text)

    assert found == [
        (2, "two_subjects"),
        (3, "unknown_key"),
        (4, "wrong_type"),
        (5, "wrong_type"),
    ]
    assert error.errors[1].message == (
        "Unknown key “colour”. Expected one of: title, bundle, item, asks, eligible, steps."
    )


def test_missing_subject_and_steps():
    found, error = errors_of("# a workflow\nasks: [baby_name]\n")

    assert found == [(2, "no_subject"), (2, "no_steps")]
    assert str(error) == (
        "line 2: The definition needs a “bundle” or an “item” line.\n"
        "line 2: The definition needs a “steps” mapping."
    )


def test_empty_steps_mapping():
    found, _error = errors_of("item: C-OTHER\nsteps: {}\n")

    assert found == [(2, "no_steps")]


@pytest.mark.parametrize(
    ("slug", "code"), [("nobody", "unknown_bundle"), ("new born", "bad_bundle")]
)
def test_unknown_bundle_and_bad_slug(slug, code):
    text = f"bundle: {slug}\nsteps: {{a: {{item: C-OTHER, by: health, due: 1}}}}\n"

    found, _error = errors_of(text)

    assert found == [(1, code)]


def test_bundle_without_resolver_is_taken_as_written():
    defn = parse(NEWBORN, resolve_bundle_items=None)

    assert defn.subject == "newborn"


def test_step_key_errors():
    text = single_item("""\
      a:
        item: C-OTHER
        by: health
        due: 1
        colour: red
        after: first
        gives: [Bad-Name]
        label: [x]
      b: {by: health}
      c: just words
      Bad: {item: C-OTHER, by: health, due: 1}
    """)

    found, error = errors_of(text)

    assert found == [
        (7, "unknown_key"),
        (8, "wrong_type"),
        (9, "bad_name"),
        (10, "wrong_type"),
        (11, "missing_key"),
        (11, "missing_key"),
        (12, "wrong_type"),
        (13, "bad_name"),
    ]
    messages = [item.message for item in error.errors]
    assert messages[0] == (
        "Unknown key “colour”. Expected one of: item, by, after, gives, needs, due, label."
    )
    assert messages[1] == "“after” must be a list, such as [a, b]."
    assert messages[4] == "Step “b” needs an “item”."
    assert messages[5] == "Step “b” needs a “due” time in working days, such as “3 workdays”."


def test_empty_values_are_reported():
    text = single_item("""\
      a:
        item:
        by: ~
        due: 1
    """)

    found, error = errors_of(text)

    assert found == [(4, "empty_value"), (5, "empty_value")]
    assert [item.message for item in error.errors] == [
        "“item” has no value.",
        "“by” has no value.",
    ]


def test_unknown_item_and_department():
    text = single_item("""\
      a: {item: C-OTHER, by: health, due: 1}
      b: {item: NO-SUCH, by: health, due: 1}
      c: {item: C-OTHER, by: 税务局, due: 1}
    """)

    found, error = errors_of(text)

    assert found == [(4, "unknown_item"), (5, "unknown_department")]
    assert error.errors[0].message == "Unknown item code “NO-SUCH”."
    assert error.errors[1].message == "Unknown department “税务局”."
    assert (error.errors[0].column, error.errors[1].column) == (13, 26)


def test_unknown_subject_item():
    found, _error = errors_of("item: NO-SUCH\nsteps: {a: {item: C-OTHER, by: health, due: 1}}\n")

    assert found == [(1, "unknown_item")]


def test_duplicate_step_key():
    text = single_item("""\
      a: {item: C-OTHER, by: health, due: 1}
      b: {item: C-OTHER, by: health, due: 1}
      a: {item: C-OTHER, by: health, due: 2}
    """)

    found, error = errors_of(text)

    assert found == [(5, "duplicate_key")]
    assert error.errors[0].message == "Duplicate key “a”, first given on line 3."


def test_duplicate_keys_at_top_and_in_a_step():
    text = """\
        item: C-OTHER
        steps:
          a: {item: C-OTHER, by: health, due: 1, due: 2}
        item: C-OTHER
    """

    found, _error = errors_of(text)

    assert found == [(3, "duplicate_key"), (4, "duplicate_key")]


def test_name_listed_twice():
    text = single_item("  a: {item: C-OTHER, by: health, due: 1, gives: [x, y, x]}\n")

    found, _error = errors_of(text)

    assert found == [(3, "listed_twice")]


def test_after_unknown_step_and_itself():
    text = single_item("""\
      a: {item: C-OTHER, by: health, due: 1}
      b:
        item: C-OTHER
        by: health
        due: 1
        after:
          - a
          - nowhere
          - b
    """)

    found, error = errors_of(text)

    assert found == [(10, "unknown_step"), (11, "after_itself")]
    assert error.errors[0].message == "Step “b” comes after “nowhere”, which is not a step."
    assert error.errors[1].message == "Step “b” cannot come after itself."


def test_cycle_names_its_path_at_a_step_in_it():
    text = single_item("""\
      start: {item: C-OTHER, by: health, due: 1}
      a: {item: C-OTHER, by: health, after: [start, c], due: 1}
      b: {item: C-OTHER, by: health, after: [a], due: 1}
      c: {item: C-OTHER, by: health, after: [b], due: 1}
    """)

    found, error = errors_of(text)

    assert found == [(4, "cycle")]
    assert error.errors[0].message == "Steps form a cycle: a → b → c → a."


def test_two_step_cycle_and_a_separate_one():
    text = single_item("""\
      a: {item: C-OTHER, by: health, after: [b], due: 1}
      b: {item: C-OTHER, by: health, after: [a], due: 1}
      x: {item: C-OTHER, by: health, after: [y], due: 1}
      y: {item: C-OTHER, by: health, after: [x], due: 1}
    """)

    found, error = errors_of(text)

    assert found == [(3, "cycle"), (5, "cycle")]
    assert [item.message for item in error.errors] == [
        "Steps form a cycle: a → b → a.",
        "Steps form a cycle: x → y → x.",
    ]


def test_need_that_no_step_gives():
    text = single_item("""\
      a: {item: C-OTHER, by: health, due: 1}
      b: {item: C-OTHER, by: health, after: [a], needs: [hukou_no], due: 1}
    """)

    found, error = errors_of(text)

    assert found == [(4, "unresolved_need")]
    assert error.errors[0].message == "Step “b” needs “hukou_no”, but no step gives it."


def test_need_from_a_parallel_step_says_to_order_after_it():
    text = """\
        bundle: newborn
        steps:
          birth_certificate: {item: C-BIRTH, by: 卫健委, due: 1 workday}
          hukou: {item: C-HUKOU, after: [birth_certificate], due: 3, gives: [hukou_no]}
          social_card: {item: C-CARD, after: [birth_certificate], needs: [hukou_no], due: 5}
          child_insurance: {item: C-INSURE, after: [hukou], needs: [hukou_no], due: 2}
    """

    found, error = errors_of(text)

    assert found == [(5, "need_not_ordered")]
    assert error.errors[0].message == (
        "Step “social_card” needs “hukou_no”, which step “hukou” gives: "
        "add “hukou” to the “after” list of “social_card”."
    )


def test_need_given_by_a_later_step_or_itself():
    text = single_item("""\
      a: {item: C-OTHER, by: health, needs: [x], due: 1}
      b: {item: C-OTHER, by: health, after: [a], gives: [x], due: 1}
      c: {item: C-OTHER, by: health, needs: [y], gives: [y], due: 1}
    """)

    found, _error = errors_of(text)

    assert found == [(3, "need_not_ordered"), (5, "need_own")]


def test_need_of_an_asked_field_is_explained():
    text = """\
        item: C-OTHER
        asks: [baby_name]
        steps:
          a: {item: C-OTHER, by: health, needs: [baby_name], due: 1}
    """

    found, error = errors_of(text)

    assert found == [(4, "need_asked")]
    assert "leave it out of “needs”" in error.errors[0].message


def test_need_given_through_a_longer_chain_is_fine():
    defn = parse(
        single_item("""\
          a: {item: C-OTHER, by: health, gives: [x], due: 1}
          b: {item: C-OTHER, by: health, after: [a], due: 1}
          c: {item: C-OTHER, by: health, after: [b], needs: [x], due: 1}
        """)
    )

    assert defn.data_sources("c") == {"x": "a"}


def test_bundle_items_must_match_the_steps():
    text = """\
        bundle: newborn
        steps:
          birth_certificate: {item: C-BIRTH, due: 1}
          hukou: {item: C-HUKOU, after: [birth_certificate], due: 3}
          other: {item: C-OTHER, due: 2}
    """

    found, error = errors_of(text)

    assert found == [
        (1, "bundle_item_uncovered"),
        (1, "bundle_item_uncovered"),
        (5, "not_in_bundle"),
    ]
    assert [item.message for item in error.errors] == [
        "Bundle “newborn” includes item “C-CARD”, which no step handles.",
        "Bundle “newborn” includes item “C-INSURE”, which no step handles.",
        "Item “C-OTHER” is not part of bundle “newborn”.",
    ]


def test_several_errors_are_all_reported_in_line_order():
    text = """\
        bundle: newborn
        asks: [Mother]
        steps:
          birth_certificate: {item: C-BIRTH, by: 卫健委, due: three days}
          hukou: {item: C-HUKOU, by: 派出所, after: [birth_certificat], needs: [birth_no], due: 3}
          social_card: {item: C-CARD, after: [hukou], due: 5 workdays}
          child_insurance: {item: C-INSURE, by: 医保局, after: [hukou], due: 400 workdays}
          extra: {item: C-NONE, due: 1}
    """

    found, error = errors_of(text)

    assert found == [
        (2, "bad_name"),
        (4, "bad_duration"),
        (5, "unknown_department"),
        (5, "unknown_step"),
        (5, "unresolved_need"),
        (7, "bad_duration"),
        (8, "unknown_item"),
    ]
    assert str(error).splitlines()[0] == (
        "line 2: “Mother” is not a valid name: use lower-case letters, digits and underscores, "
        "starting with a letter."
    )
    assert len(str(error).splitlines()) == 7


def test_error_messages_are_translated():
    with translation.override("zh-hans"):
        found, error = errors_of("item: NO-SUCH\nsteps: {a: {item: C-OTHER, by: health, due: 1}}\n")

    assert found == [(1, "unknown_item")]
    assert "NO-SUCH" in error.errors[0].message


# Writing definitions back as text


def test_definition_to_text_round_trips():
    defn = parse(NEWBORN)

    text = definition_to_text(defn)

    assert parse(text) == defn
    assert text.splitlines()[:3] == [
        "bundle: newborn",
        "asks: [mother_id_number, baby_name, birth_date, birth_hospital]",
        "steps:",
    ]
    assert text.splitlines()[3] == (
        '  birth_certificate: {item: "C-BIRTH", by: "health", gives: [birth_certificate_no], '
        "due: 1 workday}"
    )


def test_definition_to_text_quotes_awkward_values():
    defn = Definition(
        subject_kind="item",
        subject="11440000007502116",
        asks=(),
        title='联办: "出生" #1 \\ [x]',
        steps=(
            Step(
                name="register",
                item="11440000007502116",
                department="health",
                after=(),
                gives=("no",),
                needs=(),
                due_workdays=20,
                label="受理: {审核}, #2",
            ),
            Step(
                name="archive",
                item="11440000007502116",
                department="police",
                after=("register",),
                gives=(),
                needs=("no",),
                due_workdays=1,
            ),
        ),
    )

    assert parse(definition_to_text(defn)) == defn


# The diagram


def newborn_svg(**kwargs):
    return render_svg(parse(NEWBORN), names=NAMES, **kwargs)


def parse_svg(svg):
    # The SVG under test comes from our own renderer, not from outside.
    return ET.fromstring(svg)  # noqa: S314


def svg_texts(svg):
    root = parse_svg(svg)
    return root, " ".join(root.itertext())


def test_diagram_is_well_formed_and_accessible():
    root, text = svg_texts(newborn_svg())
    ns = "{http://www.w3.org/2000/svg}"

    assert root.tag == f"{ns}svg"
    assert root.get("role") == "img"
    title = root.find(f"{ns}title")
    desc = root.find(f"{ns}desc")
    assert title.text == "Workflow for bundle “newborn”"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert desc.text.startswith("4 steps; the longest chain takes 9 working days. ")
    assert "1. birth_certificate: 卫健委; 1 working day; starts at once;" in desc.text
    assert "2. hukou: 公安局; 3 working days; after birth_certificate; needs" in desc.text
    assert desc.text.index("3. social_card") < desc.text.index("4. child_insurance")
    for name in ("birth_certificate", "hukou", "social_card", "child_insurance"):
        assert name in text
    for department in NAMES.values():
        assert department in text
    assert "5 working days" in text


def test_diagram_draws_boxes_in_columns_and_arrows_with_data():
    root = parse_svg(newborn_svg())
    ns = "{http://www.w3.org/2000/svg}"

    boxes = {
        group.get("id").split("-step-")[1]: group.find(f"{ns}rect")
        for group in root.iter(f"{ns}g")
        if "workflow-step" in (group.get("class") or "").split()
    }
    assert set(boxes) == {"birth_certificate", "hukou", "social_card", "child_insurance"}
    x = {name: int(rect.get("x")) for name, rect in boxes.items()}
    assert x["birth_certificate"] < x["hukou"] < x["social_card"] == x["child_insurance"]
    assert boxes["social_card"].get("y") != boxes["child_insurance"].get("y")

    edges = [g for g in root.iter(f"{ns}g") if g.get("class") == "workflow-edge"]
    assert len(edges) == 3
    labelled = [edge for edge in edges if edge.find(f"{ns}text") is not None]
    assert len(labelled) == 1
    assert labelled[0].find(f"{ns}title").text == (
        "birth_certificate → hukou: birth_certificate_no"
    )


def test_diagram_has_no_script_or_style():
    svg = newborn_svg(states={"birth_certificate": "completed"})

    assert "<script" not in svg
    assert "style=" not in svg
    assert "<style" not in svg
    assert "href" not in svg


def test_diagram_escapes_names_and_labels():
    defn = parse(
        single_item("  a: {item: C-OTHER, by: health, due: 1, label: '<script>x</script>'}\n")
    )

    svg = render_svg(defn, names={"health": 'Health & "Care" <b>'}, states={"a": "<evil>"})
    _root, text = svg_texts(svg)

    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "<b>" not in svg
    assert "<script>x</script>" in text
    assert 'Health & "Care" <b>' in text


def test_diagram_states_colour_and_name_the_boxes():
    svg = newborn_svg(states={"birth_certificate": "completed", "hukou": "in_progress"})
    root, text = svg_texts(svg)
    ns = "{http://www.w3.org/2000/svg}"

    classes = {group.get("class") for group in root.iter(f"{ns}g")}
    assert "workflow-step workflow-state-completed" in classes
    assert "workflow-step workflow-state-in_progress" in classes
    assert "Completed" in text
    assert "In progress" in text
    assert 'fill="#dcfce7"' in svg
    assert "state: Completed" in root.find(f"{ns}desc").text


def test_diagram_shortens_long_text_but_keeps_it_in_the_tooltip():
    label = "出生医学证明首次签发及信息核验与归档登记"
    defn = parse(single_item(f"  a: {{item: C-OTHER, by: health, due: 1, label: {label}}}\n"))

    root, _text = svg_texts(render_svg(defn))
    ns = "{http://www.w3.org/2000/svg}"
    group = next(g for g in root.iter(f"{ns}g") if g.get("class") == "workflow-step")

    assert group.find(f"{ns}title").text == f"{label} (a)"
    assert group.find(f"{ns}text").text.endswith("…")
