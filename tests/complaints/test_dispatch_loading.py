"""The desk loads the newest dispatch model once, and notices a new one without a restart."""

import os
import shutil

from complaints import services


def test_a_model_added_to_the_folder_is_picked_up(trained_model, settings, tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    settings.DISPATCH_MODEL_DIR = str(folder)
    services._predictor_cache.clear()
    assert services.predictor_get() is None
    assert services.predictor_get() is None  # remembered: the folder has not changed
    for path in sorted(trained_model.directory.iterdir()):
        shutil.copy(path, folder / path.name)
    loaded = services.predictor_get()
    assert loaded is not None and loaded.version == trained_model.path.stem.split("-", 1)[1]
    assert services.predictor_get() is loaded  # loaded once
    services._predictor_cache.clear()


def test_the_rules_file_is_read_again_when_it_changes(settings, tmp_path, db):
    rules = tmp_path / "rules.yaml"
    rules.write_text("- {keyword: 噪音, kind: shengtai}\n", encoding="utf-8")
    settings.DISPATCH_RULES_PATH = str(rules)
    assert [(r.pattern, r.kind) for r in services.dispatch_rules()] == [("噪音", "shengtai")]
    rules.write_text("- {keyword: 公交, kind: jiaotong}\n", encoding="utf-8")
    stat = rules.stat()
    os.utime(rules, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert [(r.pattern, r.kind) for r in services.dispatch_rules()] == [("公交", "jiaotong")]
