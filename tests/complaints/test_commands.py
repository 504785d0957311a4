import io
import json

import pytest
from django.core.management import CommandError, call_command

from complaints.dispatch.categories import CATEGORIES
from departments.models import Department
from tests.factories import CityFactory, DepartmentFactory, RegionFactory


def run_predict(monkeypatch, lines: list[str], **options) -> list[dict]:
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{line}\n" for line in lines)))
    out = io.StringIO()
    call_command("dispatch_predict", stdout=out, **options)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_train_dispatch_prints_the_evaluation_and_writes_the_model(trained_model):
    output = trained_model.output
    metadata = json.loads(trained_model.path.with_suffix(".json").read_text(encoding="utf-8"))
    metrics = metadata["metrics"]
    assert f"Accuracy: {metrics['accuracy']:.3f}" in output
    assert f"Macro-F1: {metrics['macro_f1']:.3f}" in output
    assert "Confusion table (rows: true category, columns: predicted):" in output
    table = output.split("Confusion table")[1].split("Precision at each coverage")[0]
    header, *rows = [line for line in table.splitlines()[1:] if line.strip()]
    assert header.split() == [*sorted(CATEGORIES), "recall"]
    assert [row.split()[0] for row in rows] == sorted(CATEGORIES)
    assert [[int(n) for n in row.split()[1:-1]] for row in rows] == metrics["confusion"]
    for level in ("100%", "90%", "80%", "70%", "60%", "50%"):
        assert f"\n     {level}"[-len(level) - 1 :] in output
    assert f"Threshold for automatic dispatch: {metadata['threshold']:.3f}" in output
    assert f"written to {trained_model.path}" in output
    assert sorted(p.name for p in trained_model.directory.iterdir()) == [
        trained_model.path.name,
        trained_model.path.with_suffix(".json").name,
    ]


@pytest.mark.django_db
def test_dispatch_predict_round_trip(trained_model, monkeypatch):
    province = RegionFactory()
    hangzhou = CityFactory(code="330100", name="杭州市", parent=province)
    DepartmentFactory(
        code="330100-jiaoyu", name="杭州市教育局", kind=Department.Kind.EDUCATION, region=hangzhou
    )
    lines = [
        json.dumps({"id": "t1", "text": "孩子所在的小学乱收补课费，请教育部门查处"}),
        "{not json",
        json.dumps({"id": 3, "text": "  "}),
        json.dumps({"id": 4, "text": "长" * 20_001}),
        "",
        json.dumps(["a list"]),
        json.dumps({"id": 7, "text": "公司拖欠工资三个月不发，也不给我们交社保"}),
    ]
    results = run_predict(monkeypatch, lines, model=trained_model.path, region="330100")
    assert [r["id"] for r in results] == ["t1", None, 3, 4, None, 7]
    school, not_json, empty, too_long, not_object, wages = results
    assert school["department"] == {"code": "330100-jiaoyu", "name": "杭州市教育局"}
    assert 0 < school["confidence"] <= 1
    assert school["category"] == "教育文体"
    assert not_json == {"id": None, "error": "not a JSON object"}
    assert not_object == {"id": None, "error": "not a JSON object"}
    assert empty == {"id": 3, "error": "missing text"}
    assert too_long == {"id": 4, "error": "text longer than 20,000 characters"}
    # No 人社 department in the database: the kind and the generic name.
    assert wages["department"] == {"code": "renshe", "name": "人力资源和社会保障局"}


@pytest.mark.django_db
def test_dispatch_predict_uses_the_newest_model_of_the_settings_dir(
    trained_model, monkeypatch, settings
):
    settings.DISPATCH_MODEL_DIR = str(trained_model.directory)
    (result,) = run_predict(
        monkeypatch,
        [
            json.dumps(
                {"id": 1, "text": "K8县出租车拒载乱收费，公交线路班次太少，希望交通运输局整治"}
            )
        ],
    )
    assert result["department"] == {"code": "jiaotong", "name": "交通运输局"}


def test_dispatch_predict_without_a_model_exits_2(tmp_path, settings, monkeypatch):
    settings.DISPATCH_MODEL_DIR = str(tmp_path)
    with pytest.raises(CommandError) as raised:
        run_predict(monkeypatch, [json.dumps({"id": 1, "text": "噪音"})])
    assert raised.value.returncode == 2
    assert str(raised.value) == (
        f"No dispatch model in {tmp_path}. Train one with: python manage.py train_dispatch"
    )
    with pytest.raises(CommandError) as raised:
        run_predict(monkeypatch, [], model=tmp_path / "dispatch-x.joblib")
    assert raised.value.returncode == 2
    assert "No dispatch model at" in str(raised.value)


def test_dispatch_predict_refuses_a_model_of_another_scikit_learn(
    trained_model, tmp_path, monkeypatch
):
    path = tmp_path / trained_model.path.name
    path.write_bytes(trained_model.path.read_bytes())
    metadata = json.loads(trained_model.path.with_suffix(".json").read_text(encoding="utf-8"))
    path.with_suffix(".json").write_text(json.dumps(metadata | {"sklearn_version": "0.24.2"}))
    with pytest.raises(CommandError) as raised:
        run_predict(monkeypatch, [], model=path)
    assert raised.value.returncode == 2
    assert "was trained with scikit-learn 0.24.2" in str(raised.value)
    assert "Retrain it with: python manage.py train_dispatch" in str(raised.value)


def test_dispatch_predict_refuses_a_bad_region(trained_model, monkeypatch):
    with pytest.raises(CommandError, match="six digits"):
        run_predict(monkeypatch, [], model=trained_model.path, region="3301")
