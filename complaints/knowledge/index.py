"""The assistant's in-memory index over the knowledge: articles (1+N) and the catalog's items.

One ``KnowledgeIndex`` is built per process from three queries (articles, items, regions) and
kept for as long as neither the catalog's search generation (``catalog.search.cache``) nor the
knowledge generation (``complaints.knowledge.generation``) changes; a transaction that has itself
changed the knowledge builds one of its own and keeps none (it sees rows nobody else sees yet).

Two matchers:

- ``search``: TF-IDF over words and character pairs (``text.tokens``), cosine similarity of
  the question with each article (its question twice, keywords, the start of its answer) and
  each item (its name twice, main item, summary). The cosine is the confidence.
- ``find_item``: for questions about one item ("办理X要什么材料"), the item whose name best
  matches what is left of the question once the intent words are dropped: the F0.5-measure of
  the shared characters and character pairs, name against question.

What changes by the day or by the asker is applied per question, not at build time: an article
outside its validity dates is never returned; a local (city or department) article is eligible
only for a question from its region or below, where it takes the place of the province article it
overrides; without a region the province article answers.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from django.db import transaction

if TYPE_CHECKING:  # scikit-learn is loaded when an index is first built, not with every process
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from .text import HAN_RUN_RE, normalize, tokens

logger = logging.getLogger(__name__)

# Of an answer, indexed: none. Over held-out real questions the question (and keywords) alone
# rank the right article as well as with the start of the answer, and build 5 times faster.
ARTICLE_CHARS = 0
ITEM_SUMMARY_CHARS = 200
CANDIDATES = 30  # best cosines examined for eligibility, in order
ASCII_RE = re.compile(r"[a-z0-9]+")
# Words that say "get it done" in item names and questions alike; they identify no item.
GENERIC_NAME_RE = re.compile(r"办理|申请|申办|手续")
# Answers an index remembers (``remember``), the oldest dropped first.
REMEMBERED = 4096

T = TypeVar("T")


@dataclass(frozen=True)
class Doc:
    kind: str  # "article" | "item"
    id: int
    code: str
    title: str
    text: str
    keywords: str = ""
    scope: str = ""
    region_code: str = ""  # an article's owner region (city, or its department's); an item's
    overrides_id: int | None = None
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    popularity: int = 0

    @property
    def is_local(self) -> bool:
        return self.kind == "article" and self.scope != "province"

    def valid_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )


@dataclass(frozen=True)
class Hit:
    doc: Doc
    score: float
    overrides: Doc | None = None  # the province article this local one stands in for


def name_grams(value: str) -> list[str]:
    """Characters and character pairs of a name (generic words dropped), ASCII words whole."""
    text = GENERIC_NAME_RE.sub("", normalize(value))
    grams = ASCII_RE.findall(text)
    for run in HAN_RUN_RE.findall(text):
        grams.extend(run)
        grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return grams


@dataclass
class KnowledgeIndex:
    docs: list[Doc]
    parents: dict[str, str]  # region code → parent region code
    _vectorizer: TfidfVectorizer | None = field(default=None, repr=False)
    _matrix: object = field(default=None, repr=False)
    _names: CountVectorizer | None = field(default=None, repr=False)
    _name_matrix: object = field(default=None, repr=False)
    _name_sizes: np.ndarray | None = field(default=None, repr=False)
    _items: list[int] = field(default_factory=list, repr=False)
    _overridden_by: dict[int, list[Doc]] = field(default_factory=dict, repr=False)
    _articles: dict[int, Doc] = field(default_factory=dict, repr=False)
    _remembered: dict[Hashable, object] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, docs: list[Doc], parents: dict[str, str]) -> KnowledgeIndex:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

        index = cls(docs=docs, parents=parents)
        if docs:
            index._vectorizer = TfidfVectorizer(
                analyzer=tokens, sublinear_tf=True, dtype=np.float32
            )
            index._matrix = index._vectorizer.fit_transform([index_text(d) for d in docs])
        index._items = [i for i, d in enumerate(docs) if d.kind == "item"]
        if index._items:
            index._names = CountVectorizer(analyzer=name_grams, binary=True, dtype=np.float32)
            index._name_matrix = index._names.fit_transform([docs[i].title for i in index._items])
            index._name_sizes = np.asarray(index._name_matrix.sum(axis=1)).ravel()
        index._articles = {d.id: d for d in docs if d.kind == "article"}
        for doc in docs:
            if doc.is_local and doc.overrides_id is not None:
                index._overridden_by.setdefault(doc.overrides_id, []).append(doc)
        return index

    def remember(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, kept with this index for ``key``: what is computed from the index
        alone (and the catalog and articles it was built from) holds as long as the index. The
        same question asked again, by anyone, skips its search."""
        if key in self._remembered:
            return self._remembered[key]  # type: ignore[return-value]
        value = compute()
        if len(self._remembered) >= REMEMBERED:
            self._remembered.pop(next(iter(self._remembered)), None)
        self._remembered[key] = value
        return value

    def lineage(self, region_code: str | None) -> tuple[str, ...]:
        """The region and its ancestors, nearest first (empty without a region)."""
        chain: list[str] = []
        code = region_code
        while code and code not in chain:
            chain.append(code)
            code = self.parents.get(code)
        return tuple(chain)

    def _eligible(self, doc: Doc, lineage: tuple[str, ...], day: dt.date) -> bool:
        if not doc.valid_on(day):
            return False
        if doc.is_local:
            # Someone else's city: never; without a region, only what no province article says.
            return doc.region_code in lineage if lineage else doc.overrides_id is None
        return True

    def local_override(self, doc: Doc, lineage: tuple[str, ...], day: dt.date) -> Doc | None:
        """The valid local article of the nearest region in ``lineage`` overriding ``doc``
        (a department's before a city's of the same region)."""
        if not lineage:
            return None
        candidates = [
            d for d in self._overridden_by.get(doc.id, ()) if d.valid_on(day) and d.region_code
        ]
        for code in lineage:
            here = [d for d in candidates if d.region_code == code]
            if here:
                return min(here, key=lambda d: (d.scope != "department", d.code))
        return None

    def search(
        self, question: str, *, region_code: str | None, day: dt.date, limit: int = 3
    ) -> list[Hit]:
        """The best eligible documents for a question, best first, local overrides applied."""
        if self._matrix is None:
            return []
        vector = self._vectorizer.transform([question])
        if not vector.nnz:
            return []
        scores = (self._matrix @ vector.T).toarray().ravel()
        count = min(CANDIDATES, len(scores))
        top = np.argpartition(-scores, count - 1)[:count]
        top = top[np.argsort(-scores[top], kind="stable")]
        lineage = self.lineage(region_code)
        hits: list[Hit] = []
        seen: set[tuple[str, int]] = set()
        for position in top:
            score = float(scores[position])
            if score <= 0:
                break
            doc = self.docs[position]
            if not self._eligible(doc, lineage, day):
                continue
            if doc.is_local:
                hit = Hit(doc, score, overrides=self._articles.get(doc.overrides_id or 0))
            elif (local := self.local_override(doc, lineage, day)) is not None:
                hit = Hit(local, score, overrides=doc)
            else:
                hit = Hit(doc, score)
            key = (hit.doc.kind, hit.doc.id)
            if key in seen:
                continue
            seen.add(key)
            hits.append(hit)
            if len(hits) >= limit:
                break
        return hits

    def find_item(self, name: str, *, region_code: str | None) -> Hit | None:
        """The item whose name best matches ``name`` (F-measure of shared characters and pairs;
        ties go to an item of the asker's region, then to the more popular)."""
        if self._names is None:
            return None
        query = self._names.transform([name])
        size = float(query.sum())
        if not size:
            return None
        shared = np.asarray((self._name_matrix @ query.T).todense()).ravel()
        coverage = shared / np.maximum(self._name_sizes, 1)
        precision = shared / size
        # F0.5: that what is asked is in the name counts more than that the whole name is asked
        # ("护照" for 普通护照签发).
        with np.errstate(invalid="ignore", divide="ignore"):
            f = np.where(
                shared > 0, 1.25 * precision * coverage / (0.25 * precision + coverage), 0.0
            )
        best = float(f.max())
        if best <= 0:
            return None
        lineage = self.lineage(region_code)
        tied = np.flatnonzero(f >= best - 1e-6)
        docs = [self.docs[self._items[i]] for i in tied]
        doc = max(docs, key=lambda d: (d.region_code in lineage, d.popularity, d.code))
        return Hit(doc, best)


def index_text(doc: Doc) -> str:
    if doc.kind == "article":
        return f"{doc.title}。{doc.title}。{doc.keywords}。{doc.text[:ARTICLE_CHARS]}"
    return f"{doc.title}。{doc.title}。{doc.text[:ITEM_SUMMARY_CHARS]}"


# --- the process's index ----------------------------------------------------------------------

_lock = threading.Lock()
_current: tuple[tuple, KnowledgeIndex] | None = None


def load_docs() -> tuple[list[Doc], dict[str, str]]:
    """Every active article and published item as a ``Doc``, and the region tree (3 queries)."""
    from catalog.models import ServiceItem
    from departments.models import Region

    from ..models import Article

    docs: list[Doc] = []
    articles = Article.objects.filter(is_active=True).values_list(
        "id",
        "code",
        "question",
        "keywords",
        "answer",
        "scope",
        "region__code",
        "department__region__code",
        "overrides_id",
        "valid_from",
        "valid_until",
    )
    for (
        pk,
        code,
        question,
        keywords,
        answer,
        scope,
        region,
        department_region,
        overrides,
        valid_from,
        valid_until,
    ) in articles.order_by("id"):
        docs.append(
            Doc(
                kind="article",
                id=pk,
                code=code,
                title=question,
                text=answer,
                keywords=keywords,
                scope=scope,
                region_code=region or department_region or "",
                overrides_id=overrides,
                valid_from=valid_from,
                valid_until=valid_until,
            )
        )
    items = ServiceItem.objects.filter(is_active=True).values_list(
        "id", "code", "name", "main_name", "summary", "region__code", "popularity"
    )
    for pk, code, name, main_name, summary, region, popularity in items.order_by("id"):
        text = f"{main_name}。{summary}" if main_name and main_name != name else summary
        docs.append(
            Doc(
                kind="item",
                id=pk,
                code=code,
                title=name,
                text=text,
                region_code=region,
                popularity=popularity,
            )
        )
    parents = dict(Region.objects.filter(parent__isnull=False).values_list("code", "parent__code"))
    return docs, parents


def _key() -> tuple | None:
    """The generations this process's index must match; None inside a transaction that changed
    the catalog or the knowledge (or without a cache): build one, keep none."""
    from catalog.search import cache as catalog_cache

    from . import generation

    if catalog_cache.changed_in_transaction() or generation.changed_in_transaction():
        return None
    try:
        return (
            catalog_cache.generation(),
            generation.current(),
            transaction.get_connection().alias,
        )
    except Exception:
        logger.warning("knowledge generation unavailable; building the index", exc_info=True)
        return None


def current_index() -> KnowledgeIndex:
    """The index for the current generations, built on first use after a change."""
    global _current
    key = _key()
    if key is not None:
        found = _current
        if found is not None and found[0] == key:
            return found[1]
    with _lock:
        if key is not None and _current is not None and _current[0] == key:
            return _current[1]
        index = KnowledgeIndex.build(*load_docs())
        if key is not None:
            _current = (key, index)
        return index


def forget() -> None:
    """Drop this process's index (tests, benchmarks)."""
    global _current
    _current = None
