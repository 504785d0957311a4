"""Dispatch: which department handles a complaint, how sure we are, and why.

- ``text``: the words of a complaint (jieba); ``ticket_text(topic, detail)`` builds the text the
  model was trained on from a title and a body.
- ``model``: choosing a pipeline by cross-validation, evaluation, the versioned model files
  (``manage.py train_dispatch``).
- ``rules``: keywords or regexes staff add, in admin or in a file (``DISPATCH_RULES_PATH``),
  applied before the model.
- ``departments``: the department of a kind nearest to a region.
- ``decision``: ``dispatch_decide``, the one decision (application, rules, model, nearest
  department) behind the desk and ``dispatch_predict``.
- ``predictor``: ``Predictor.load().predict(texts, region=...)``; ``manage.py dispatch_predict``.

Import the submodules; this package imports nothing, so loading Django does not load
scikit-learn.
"""
