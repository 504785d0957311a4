import json

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

from complaints.dispatch.categories import CATEGORIES
from complaints.dispatch.model import (
    DispatchDataError,
    DispatchModelError,
    choose_threshold,
    evaluate,
    labelled_load,
    latest_model_path,
    model_load,
)
from complaints.dispatch.predictor import Predictor
from complaints.dispatch.rules import DispatchRulesError, Rule, rules_load
from complaints.dispatch.text import normalize, ticket_text, words
from departments.models import Department
from tests.factories import CityFactory, DepartmentFactory, RegionFactory

SCHOOL = "孩子所在的小学乱收补课费，每学期强制收取资料费，请教育部门查处"
WAGES = "公司拖欠工资三个月不发，也不给我们交社保"
BUILDING = "小区旁边工地夜间施工，渣土车噪音太大，严重影响休息"


def metadata_of(trained_model) -> dict:
    return json.loads(trained_model.path.with_suffix(".json").read_text(encoding="utf-8"))


def test_words_drop_function_words_and_anonymised_letters():
    assert words("A市的学校乱收费") == ["市", "学校", "乱收费"]
    assert ticket_text("标题", "正文") == "标题。标题。正文"
    assert ticket_text("", "正文") == "正文"


def test_cross_validated_quality_beats_the_character_baseline(trained_model):
    metrics = metadata_of(trained_model)["metrics"]
    # Seven categories, the largest 21 % of the messages: guessing stays far below these.
    assert metrics["accuracy"] >= 0.7
    assert metrics["macro_f1"] >= 0.65

    # The baseline, on the same folds: TF-IDF of character 1-3-grams with a linear SVM.
    data = labelled_load(trained_model.data)
    texts = np.asarray(data.texts, dtype=object)
    labels = np.asarray(data.categories, dtype=object)
    predicted = np.empty(len(texts), dtype=object)
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(texts, labels):
        baseline = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3)), LinearSVC())
        baseline.fit(list(texts[train]), list(labels[train]))
        predicted[test] = baseline.predict(list(texts[test]))
    classes = sorted(CATEGORIES)
    votes = np.array([[float(p == c) for c in classes] for p in predicted])
    baseline_metrics = evaluate(classes, votes, data.categories)
    assert metrics["macro_f1"] >= baseline_metrics.macro_f1
    assert metrics["accuracy"] >= baseline_metrics.accuracy - 0.01


def test_metadata_records_threshold_coverage_and_versions(trained_model):
    import sklearn

    metadata = metadata_of(trained_model)
    assert trained_model.path.name == f"dispatch-{metadata['version']}.joblib"
    assert metadata["version"].endswith(metadata["data"]["sha256"][:8])
    assert metadata["sklearn_version"] == sklearn.__version__
    assert metadata["classes"] == sorted(CATEGORIES)
    assert metadata["data"]["messages"] == 325
    coverage = metadata["metrics"]["coverage"]
    assert [row["coverage"] for row in coverage] == [1.0, 0.9, 0.8, 0.7, 0.6, 0.5]
    assert coverage[0]["precision"] == pytest.approx(metadata["metrics"]["accuracy"])
    assert metadata["threshold"] is not None
    assert metadata["metrics"]["threshold_precision"] >= 0.9
    assert sum(map(sum, metadata["metrics"]["confusion"])) == 325


@pytest.mark.django_db
def test_predictions_are_deterministic_and_independent_of_the_batch(predictor):
    texts = [SCHOOL, WAGES, BUILDING]
    first = predictor.predict(texts)
    assert predictor.predict(texts) == first
    assert [predictor.predict([text])[0] for text in texts] == first
    assert [p.category for p in first] == ["教育文体", "劳动和社会保障", "城乡建设"]
    assert [p.department_kind for p in first] == ["jiaoyu", "renshe", "zhujian"]
    for prediction in first:
        assert 0 < prediction.confidence <= 1
        assert prediction.automatic == (prediction.confidence >= predictor.threshold)


@pytest.mark.django_db
def test_reasons_are_words_of_the_text(predictor):
    for text in (SCHOOL, WAGES, BUILDING):
        (prediction,) = predictor.predict([text])
        assert 1 <= len(prediction.reasons) <= 5
        for reason in prediction.reasons:
            assert reason in words(text)
    (school,) = predictor.predict([SCHOOL])
    assert {"补课费", "小学"} & set(school.reasons)


@pytest.mark.django_db
def test_a_rule_overrides_the_model(predictor):
    ruled = Predictor(
        predictor.pipeline,
        predictor.metadata,
        rules=[
            Rule(pattern="补课费", kind="shichang"),
            Rule(pattern=r"工资|社保", kind="jiaotong", is_regex=True),
        ],
    )
    school, wages, building = ruled.predict([SCHOOL, WAGES, BUILDING])
    assert (school.department_kind, school.category) == ("shichang", None)
    assert school.confidence == 1.0
    assert school.reasons == ("rule: 补课费",)
    assert school.automatic is True
    assert (wages.department_kind, wages.category, wages.reasons) == (
        "jiaotong",
        "交通运输",
        ("rule: 工资|社保",),
    )
    assert building == predictor.predict([BUILDING])[0]


def test_rules_load_from_the_settings_file(tmp_path, settings):
    yaml_path = tmp_path / "rules.yaml"
    yaml_path.write_text(
        "- {keyword: 噪音, kind: shengtai}\n- {regex: '公交|地铁', kind: jiaotong}\n"
    )
    settings.DISPATCH_RULES_PATH = str(yaml_path)
    assert rules_load() == [
        Rule(pattern="噪音", kind="shengtai"),
        Rule(pattern="公交|地铁", kind="jiaotong", is_regex=True),
    ]
    json_path = tmp_path / "rules.json"
    json_path.write_text(json.dumps([{"keyword": "ＡＢＣ", "kind": "jiaoyu"}]))
    (rule,) = rules_load(json_path)
    assert rule.matches(normalize("abc学校"))
    settings.DISPATCH_RULES_PATH = None
    assert rules_load() == []


@pytest.mark.parametrize(
    "entries",
    [
        [{"keyword": "噪音", "kind": "nowhere"}],
        [{"keyword": "噪音", "regex": "x", "kind": "shengtai"}],
        [{"regex": "(", "kind": "shengtai"}],
        {"keyword": "噪音"},
    ],
)
def test_bad_rules_are_refused(tmp_path, entries):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(entries))
    with pytest.raises(DispatchRulesError):
        rules_load(path)


@pytest.mark.django_db
def test_region_picks_the_nearest_department_of_the_kind(predictor, django_assert_num_queries):
    province = RegionFactory()
    hangzhou = CityFactory(code="330100", name="杭州市", parent=province)
    xihu = CityFactory(code="330106", name="西湖区", level="county", parent=hangzhou)
    ningbo = CityFactory(code="330200", name="宁波市", parent=province)
    K = Department.Kind
    DepartmentFactory(code="330000-jiaoyu", name="浙江省教育厅", kind=K.EDUCATION, region=province)
    DepartmentFactory(code="330100-jiaoyu", name="杭州市教育局", kind=K.EDUCATION, region=hangzhou)
    DepartmentFactory(
        code="330100-renshe", name="杭州市人社局", kind=K.HUMAN_RESOURCES, region=hangzhou
    )
    DepartmentFactory(
        code="330106-renshe", name="西湖区人社局", kind=K.HUMAN_RESOURCES, region=xihu
    )
    DepartmentFactory(
        code="330106-gongan", name="西湖区公安分局", kind=K.PUBLIC_SECURITY, region=xihu
    )

    with django_assert_num_queries(1):
        school, wages, building = predictor.predict([SCHOOL, WAGES, BUILDING], region="330106")
    assert (school.department.code, school.department.name) == ("330100-jiaoyu", "杭州市教育局")
    assert (wages.department.code, wages.department.name) == ("330106-renshe", "西湖区人社局")
    # No 住建 department anywhere: the kind and the generic name stand in.
    assert (building.department.code, building.department.name) == ("zhujian", "住房和城乡建设局")
    assert building.department.known is False

    (school,) = predictor.predict([SCHOOL], region=ningbo.code)
    assert school.department.code == "330000-jiaoyu"
    (school,) = predictor.predict([SCHOOL])
    assert (school.department.code, school.department.name) == ("jiaoyu", "教育局")


def test_the_newest_model_with_metadata_is_loaded(trained_model, tmp_path, settings):
    settings.DISPATCH_MODEL_DIR = str(tmp_path)
    with pytest.raises(DispatchModelError, match="train_dispatch"):
        latest_model_path()
    older = tmp_path / "dispatch-20200101T000000Z-00000000.joblib"
    newer = tmp_path / "dispatch-20300101T000000Z-00000000.joblib"
    for target in (older, newer):
        target.write_bytes(trained_model.path.read_bytes())
    older.with_suffix(".json").write_text(trained_model.path.with_suffix(".json").read_text())
    assert latest_model_path() == older  # the newer one has no metadata yet
    newer.with_suffix(".json").write_text(trained_model.path.with_suffix(".json").read_text())
    assert latest_model_path() == newer


def test_a_model_of_another_scikit_learn_is_refused(trained_model, tmp_path):
    path = tmp_path / trained_model.path.name
    path.write_bytes(trained_model.path.read_bytes())
    metadata = metadata_of(trained_model) | {"sklearn_version": "0.24.2"}
    path.with_suffix(".json").write_text(json.dumps(metadata))
    with pytest.raises(DispatchModelError, match=r"trained with scikit-learn 0\.24\.2"):
        model_load(path)


def test_labelled_data_with_an_unknown_category_is_refused(tmp_path):
    path = tmp_path / "labelled.jsonl"
    rows = [{"topic": f"标题{i}", "detail": "正文", "category": "城乡建设"} for i in range(5)]
    rows.append({"topic": "标题", "detail": "正文", "category": "外交"})
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    with pytest.raises(DispatchDataError, match=":6: unknown category '外交'"):
        labelled_load(path)


def test_choose_threshold_keeps_the_widest_coverage_at_the_target():
    confidence = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    correct = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], dtype=bool)
    # At 0.1 the precision would fall to 8/9.
    assert choose_threshold(confidence, correct) == (0.2, 1.0, 0.8)
    assert choose_threshold(confidence, ~correct) == (None, None, 0.0)


@pytest.mark.django_db
def test_reasons_are_words_a_dispatcher_recognises(predictor):
    from complaints.dispatch.text import recognisable

    kitchen = (
        "上次在文三路18号那家饭店吃饭，发现后厨用的食材很多已经过期，冰箱里的肉都变质了，"
        "很不卫生，希望有关部门去查一查。"
    )
    texts = (kitchen, SCHOOL, WAGES, BUILDING)
    for prediction in predictor.predict(list(texts)):
        assert prediction.reasons, prediction
        for reason in prediction.reasons:
            assert recognisable(reason), reason
            assert not set(reason.split()) & {"号", "很", "上次", "已经", "希望"}, reason
    for word in ("号", "很", "上次", "18", "三楼", "有关 部门"):
        assert not recognisable(word), word
    for word in ("后厨", "过期", "食材 过期", "补课费", "万达广场"):
        assert recognisable(word), word
