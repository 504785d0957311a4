"""The dispatch pipeline's first step, apart from ``text`` so that reading a complaint's words
does not load scikit-learn."""

from __future__ import annotations

from collections.abc import Iterable

from sklearn.base import BaseEstimator, TransformerMixin

from .text import words


class Segmenter(TransformerMixin, BaseEstimator):
    """Texts to space-separated words, the first step of the dispatch pipeline."""

    def fit(self, texts: Iterable[str], y=None) -> Segmenter:
        return self

    def transform(self, texts: Iterable[str]) -> list[str]:
        return [" ".join(words(text)) for text in texts]
