"""Dispatch: which department handles a complaint, how sure we are, and why.

- ``text``: the words of a complaint (jieba); ``ticket_text(topic, detail)`` builds the text the
  model was trained on from a title and a body.
- ``model``: choosing a pipeline by cross-validation, evaluation, the versioned model files
  (``manage.py train_dispatch``).
- ``rules``: keywords or regexes staff add, applied before the model (``DISPATCH_RULES_PATH``).
- ``predictor``: ``Predictor.load().predict(texts, region=...)``; ``manage.py dispatch_predict``.

Import the submodules; this package imports nothing, so loading Django does not load
scikit-learn.
"""
