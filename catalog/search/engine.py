"""``search_items``: match, rank, count and facet in one SQL statement, then load the page.

Queries per search for words, whatever the catalog's size: one for the synonyms, one statement
that matches, ranks, pages, counts and facets (and reads the page's materials for the excerpts,
and on the first page finds the matching bundles), and one for the page's items with their
department and region. A typo or a query nothing matches adds one statement to find the
correction and one to search again; a first page that finds bundles, one to read them. The
answer (ids, counts, words, the bundles found; plain data) is cached for the catalog's
generation (``cache``): the same search again reads only the page's items.

Browsing (no words, ``browse``) reads one page of the published items in popularity order and
counts them per set of filters, each piece cached apart: the counts over the whole catalog are
made once a generation for everyone, from a partial index rather than the item rows.

Ranking (an integer computed in SQL, so both databases order alike), from strongest:
the whole name typed (or its pinyin, or its initials) > every word in the name (pinyin counts as
name) > how many words are in the name > how many of a synonym's words are in the name (the
first listed weigh most) > a short name (the words say more of it); items holding the words only
in materials, themes or department come after every name match; then popularity, then code.

Near first: for a searcher whose region is known (``selectors.user_region_code``), the items
holding the words in their name are ranked by how near their region is before anything else
(``near_sql``): the searcher's own (their county, and the city and province above it, whose
services are theirs too), then the rest of their province, then elsewhere; relevance orders
each. Anonymous searches rank as above. Items holding the words only elsewhere stay after
every name match.

Bundles (一件事) come before every item: on the first page, the published bundles whose name,
summary or life event (its name and search words) hold the words (``bundle_sql``; a bundle
answers the region, audience, life-event and zero-trip filters, and none is shown under the
others), the name first, then nearness, then popularity.

Facets are disjunctive: each group counts over the text's matches with every *other* filter
applied, so a chosen department still shows the others to switch to. The statement keeps the
matches that fail at most one filter; the page is those failing none.
"""

# SQL here is built from identifiers and constants of this module only; every value a user
# gives travels as a query parameter.
# ruff: noqa: S608

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count
from django.utils.translation import gettext as _

from departments.models import Department, Region

from ..models import Audience, Bundle, LifeEvent, Material, ServiceItem, Synonym, Theme
from . import cache as search_cache
from . import highlight
from . import text as t
from .backends import backend
from .query import (
    MAX_ALTERNATIVES,
    NAME,
    TYPO,
    Group,
    Node,
    Plan,
    Term,
    all_of,
    alternative_words,
    any_of,
    plan_query,
    query_tokens,
)

FILTER_KEYS = (
    "department",
    "region",
    "type",
    "theme",
    "audience",
    "online",
    "mobile",
    "zero_trips",
    "id_only",
    "life_event",
)
FLAG_KEYS = ("online", "mobile", "zero_trips", "id_only")
FACET_KEYS = ("department", "region", "type", "theme", "audience", *FLAG_KEYS)
AUDIENCES = (Audience.CITIZEN, Audience.ENTERPRISE)
MAX_QUERY_CHARS = 100
MAX_FILTER_CHARS = 100
REGION_CODE_RE = re.compile(r"[0-9]{6}")
# The filters a bundle can answer; under any other filter the visitor looks for items alone.
BUNDLE_FILTER_KEYS = ("region", "audience", "life_event", "zero_trips")
# Bundles shown before the items at most.
MAX_BUNDLES = 5
# A bundle's score: its whole name typed, then each group of words in its name, then anywhere.
BUNDLE_EXACT = 1_000
BUNDLE_GROUP_IN_NAME = 10
BUNDLE_GROUP_ANYWHERE = 1

# Score tiers: each outweighs everything below it (at most 8 groups, 8 alternatives each).
# An item holding the words only in its materials, themes or department scores on brevity alone:
# below every name match, as the words are in all of them.
EXACT = 100_000_000
ALL_IN_NAME = 10_000_000
GROUP_IN_NAME = 1_000_000
GROUP_ANYWHERE = 100_000  # only when relaxed (some words matched nowhere)
SOFT_IN_NAME = 10_000
# A synonym's alternatives in the name; staff list the likeliest first: 900, 800, ... 200.
ALTERNATIVE_IN_NAME = 100
BREVITY = 10  # x 0..3

# Typo correction: the share of the query's characters and pairs (or pinyin trigrams) that a
# name must hold, and the longest query worth correcting.
TYPO_SHARE = 0.5
TYPO_MAX_CHARS = 20

# With text, at most this many items holding every word in the name, and as many more holding
# them elsewhere, are ranked and counted; beyond, the counts are lower bounds (``capped``). The
# name matches, which rank first, are found apart so that materials cannot crowd them out.
MAX_CANDIDATES = 300


@dataclass
class Facet:
    value: str
    label: str
    count: int
    selected: bool = False


@dataclass
class SearchResult:
    items: list[ServiceItem]
    total: int
    page: int
    page_size: int
    query: str
    # The bundles (一件事) matching the words, best first, shown before the items (first page).
    bundles: list[Bundle] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    facets: dict[str, list[Facet]] = field(default_factory=dict)
    # The words searched instead of a mistyped query ("showing results for ...").
    corrected: str = ""
    # The phrases the synonym table rewrote (生孩子 when 出生 was searched).
    expanded_from: str = ""
    # No item holds every word: these hold some of them, most first.
    partial: bool = False
    # The bound on candidates was reached (MAX_CANDIDATES): total may be a lower bound.
    capped: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


# ---------------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------------

ITEMS = ServiceItem._meta.db_table
THEMES_M2M = ServiceItem.themes.through._meta.db_table
EVENTS_M2M = ServiceItem.life_events.through._meta.db_table


def clean_filters(filters: Mapping[str, str] | None) -> dict[str, str]:
    """Known keys with a usable value; flags only as "1", audience only as one of its two."""
    cleaned: dict[str, str] = {}
    for key, value in (filters or {}).items():
        value = str(value or "").strip()[:MAX_FILTER_CHARS]
        if key not in FILTER_KEYS or not value:
            continue
        if key in FLAG_KEYS and value != "1":
            continue
        if key == "audience" and value not in AUDIENCES:
            continue
        cleaned[key] = value
    return cleaned


def filter_predicate(key: str, value: str) -> tuple[str, list]:
    """SQL true when item ``i`` passes the filter. A code or slug is looked up in a scalar
    subquery (they are unique): PostgreSQL then plans with the selectivity of one id, where an
    ``IN`` over a join would make it guess badly (at 200,000 items, a theme's first page in
    5 ms rather than 170)."""
    if key == "department":
        table = Department._meta.db_table
        return f"i.department_id = (SELECT id FROM {table} WHERE code = %s)", [value]
    if key == "region":
        return f"i.region_id = (SELECT id FROM {Region._meta.db_table} WHERE code = %s)", [value]
    if key == "type":
        return "i.item_type = %s", [value]
    if key == "theme":
        return (
            f"i.id IN (SELECT x.serviceitem_id FROM {THEMES_M2M} x WHERE x.theme_id = "
            f"(SELECT y.id FROM {Theme._meta.db_table} y WHERE y.slug = %s))",
            [value],
        )
    if key == "life_event":
        return (
            f"i.id IN (SELECT x.serviceitem_id FROM {EVENTS_M2M} x WHERE x.lifeevent_id = "
            f"(SELECT y.id FROM {LifeEvent._meta.db_table} y WHERE y.slug = %s))",
            [value],
        )
    if key == "audience":
        return ("i.for_citizens" if value == Audience.CITIZEN else "i.for_enterprises"), []
    if key == "zero_trips":
        return "i.trips = 0", []
    return f"i.{key}", []  # online, mobile, id_only


# ---------------------------------------------------------------------------------------------
# The statement
# ---------------------------------------------------------------------------------------------


def brevity_sql(length: str = "LENGTH(i.name)") -> str:
    """0..3, the shorter the name the higher: the words typed say more of a short name."""
    return (
        f"CASE WHEN {length} <= 6 THEN 3 WHEN {length} <= 10 THEN 2 "
        f"WHEN {length} <= 16 THEN 1 ELSE 0 END"
    )


def score_sql(plan: Plan, *, relaxed: bool) -> tuple[str, list]:
    if not plan:
        return "0", []
    engine = backend()
    parts: list[tuple[Node, int]] = []
    if (exact := plan.exact_node()) is not None:
        parts.append((exact, EXACT))
    required = plan.required
    if required and not relaxed:
        parts.append((all_of(g.node("name") for g in required), ALL_IN_NAME))
    for group in plan.groups:
        if group.required or relaxed:
            parts.append((group.node("name"), GROUP_IN_NAME))
        else:
            parts.append((group.node("name"), SOFT_IN_NAME))
        if relaxed:
            parts.append((group.node("any"), GROUP_ANYWHERE))
        if len(group.alternatives) > 1:
            parts += [
                (node, ALTERNATIVE_IN_NAME * (MAX_ALTERNATIVES + 1 - index))
                for index, node in enumerate(group.alternative_nodes("name"))
            ]
    # Each distinct test once per row (one word: "every word in the name" is "the word in it").
    weights: dict[Node, int] = {}
    for node, weight in parts:
        weights[node] = weights.get(node, 0) + weight
    sql, params = [], []
    for node, weight in weights.items():
        match, args = engine.match(node)
        sql.append(f"CASE WHEN {match} THEN {weight} ELSE 0 END")
        params += args
    sql.append(f"{BREVITY} * ({brevity_sql()})")
    return " + ".join(sql), params


def group_facet_sql(key: str, where: str) -> str:
    """Counts by department, region, type or theme: (key, value, label, count, -) rows."""
    if key == "department":
        return (
            f"SELECT 'department', d.code, d.name, g.n, NULL FROM (SELECT department_id, "
            f"COUNT(*) AS n FROM m WHERE {where} GROUP BY department_id) g "
            f"JOIN {Department._meta.db_table} d ON d.id = g.department_id"
        )
    if key == "region":
        return (
            f"SELECT 'region', r.code, r.name, g.n, NULL FROM (SELECT region_id, COUNT(*) AS n "
            f"FROM m WHERE {where} GROUP BY region_id) g "
            f"JOIN {Region._meta.db_table} r ON r.id = g.region_id"
        )
    if key == "type":
        return (
            f"SELECT 'type', item_type, NULL, COUNT(*), NULL FROM m WHERE {where} "
            "GROUP BY item_type"
        )
    return (
        f"SELECT 'theme', y.slug, y.name, COUNT(*), NULL FROM m "
        f"JOIN {THEMES_M2M} tt ON tt.serviceitem_id = m.id "
        f"JOIN {Theme._meta.db_table} y ON y.id = tt.theme_id "
        f"WHERE {where} GROUP BY y.slug, y.name"
    )


# Counted in one pass over m: (row kind, facet value, condition besides the other filters).
SUMS = (
    ("audience", Audience.CITIZEN.value, "for_citizens"),
    ("audience", Audience.ENTERPRISE.value, "for_enterprises"),
    ("online", "1", "online"),
    ("mobile", "1", "mobile"),
    ("zero_trips", "1", "trips = 0"),
    ("id_only", "1", "id_only"),
)


def sums_sql(filters: Mapping[str, str]) -> str:
    """The total, the top score, the candidate counts and the audience and flag facets from one
    pass over m, unpivoted into (kind, value, -, count, top score) rows."""

    def others(key: str) -> str:
        return f"misses - x_{key} = 0" if key in filters else "misses = 0"

    sums = [
        "SUM(CASE WHEN misses = 0 THEN 1 ELSE 0 END)",
        *(
            f"SUM(CASE WHEN {others(key)} AND {condition} THEN 1 ELSE 0 END)"
            for key, _, condition in SUMS
        ),
        "(SELECT COUNT(*) FROM c_name)",
        "(SELECT COUNT(*) FROM c_other)",
    ]
    kinds = [("total", ""), *((key, value) for key, value, _ in SUMS)]
    kinds += [("capped", "name"), ("capped", "other")]
    columns = ", ".join(f"{sql} AS s{n}" for n, sql in enumerate(sums))
    keys = " UNION ALL ".join(
        f"SELECT {n} AS n, '{kind}' AS kind, '{value}' AS value"
        for n, (kind, value) in enumerate(kinds)
    )
    picks = " ".join(f"WHEN {n} THEN a.s{n}" for n in range(len(kinds)))
    return (
        f"SELECT k.kind, k.value, NULL, CASE k.n {picks} END, CASE WHEN k.n = 0 THEN a.top END "
        f"FROM (SELECT {columns}, MAX(CASE WHEN misses = 0 THEN score END) AS top FROM m) a "
        f"CROSS JOIN ({keys}) k"
    )


def region_chain(region: str) -> list[str]:
    """A region code and those above it (GB/T 2260: 330106 → 330100 → 330000)."""
    return list(dict.fromkeys([region, f"{region[:4]}00", f"{region[:2]}0000"]))


def near_sql(region: str, column: str = "i.region_id") -> tuple[str, list]:
    """How near the region in ``column`` is to the searcher's ``region``: 2 the searcher's own
    (the region itself or the city or province above it, whose services are theirs too), 1
    elsewhere in their province, 0 elsewhere or when no region is known. Codes are looked up in
    uncorrelated subqueries, run once per statement."""
    if not region:
        return "0", []
    table = Region._meta.db_table
    own = region_chain(region)
    marks = ", ".join(["%s"] * len(own))
    sql = (
        f"CASE WHEN {column} IN (SELECT id FROM {table} WHERE code IN ({marks})) THEN 2 "
        f"WHEN {column} IN (SELECT id FROM {table} WHERE code LIKE %s) THEN 1 ELSE 0 END"
    )
    return sql, [*own, f"{region[:2]}%"]


def bundle_filter_predicate(key: str, value: str) -> tuple[str, list]:
    """SQL true when bundle ``b`` passes the filter (one of BUNDLE_FILTER_KEYS)."""
    if key == "region":
        return f"b.region_id = (SELECT id FROM {Region._meta.db_table} WHERE code = %s)", [value]
    if key == "audience":
        return "b.audience IN (%s, %s)", [value, Audience.BOTH.value]
    if key == "life_event":
        table = LifeEvent._meta.db_table
        return f"b.life_event_id = (SELECT id FROM {table} WHERE slug = %s)", [value]
    return "b.trips = 0", []  # zero_trips


def group_like(group: Group, column: str) -> tuple[str, list]:
    """SQL true when ``column`` (lower-case text) holds one of the group's alternatives: every
    word of it, as a substring. Words are letters, digits or Han characters only
    (``alternative_words``), so none is a LIKE wildcard."""
    checks, params = [], []
    for alternative in group.alternatives:
        words = alternative_words(alternative)
        if words:
            checks.append("(" + " AND ".join(f"{column} LIKE %s" for _ in words) + ")")
            params += [f"%{word}%" for word in words]
    return ("(" + " OR ".join(checks) + ")", params) if checks else ("1 = 0", [])


def bundle_sql(
    plan: Plan, filters: Mapping[str, str], *, relaxed: bool, region: str
) -> tuple[str, list] | None:
    """Rows ('bundle', -, -, position, id) of the published bundles holding the words (every
    required group, or relaxed any group) in their name, summary or life event's name and
    search words, best first, at most MAX_BUNDLES; None when a filter rules bundles out.

    Bundles are few (one per 一件事 a region offers) and carry no search columns: their text is
    read whole and matched by substring, which is what Chinese words need anyway."""
    if not plan or any(key not in BUNDLE_FILTER_KEYS for key in filters):
        return None
    groups = plan.groups if relaxed else plan.required
    near, near_params = near_sql(region, "b.region_id")
    predicates = [bundle_filter_predicate(key, value) for key, value in filters.items()]
    where = " AND ".join(["b.is_active", *(sql for sql, _ in predicates)])
    where_params = [p for _, args in predicates for p in args]
    score = [f"CASE WHEN x.name = %s THEN {BUNDLE_EXACT} ELSE 0 END"]
    score_params = [t.compact(plan.text)]
    matches, match_params = [], []
    for group in plan.groups:
        in_name, name_params = group_like(group, "x.name")
        anywhere, anywhere_params = group_like(group, "x.words")
        score.append(
            f"CASE WHEN {in_name} THEN {BUNDLE_GROUP_IN_NAME} "
            f"WHEN {anywhere} THEN {BUNDLE_GROUP_ANYWHERE} ELSE 0 END"
        )
        score_params += [*name_params, *anywhere_params]
        if group in groups:
            matches.append(anywhere)
            match_params += anywhere_params
    joiner = " OR " if relaxed else " AND "
    events = LifeEvent._meta.db_table
    text = (
        "b.name || ' ' || b.summary || ' ' || COALESCE(e.name, '') || ' ' || "
        "COALESCE(e.keywords, '')"
    )
    sql = (
        "SELECT 'bundle', NULL, NULL, ROW_NUMBER() OVER (ORDER BY s.nearness DESC, "
        "s.score DESC, s.popularity DESC, s.slug), s.id FROM (SELECT x.id, x.slug, "
        f"x.popularity, x.nearness, {' + '.join(score)} AS score FROM (SELECT b.id, b.slug, "
        f"b.popularity, {near} AS nearness, REPLACE(LOWER(b.name), ' ', '') AS name, "
        f"LOWER({text}) AS words FROM {Bundle._meta.db_table} b "
        f"LEFT JOIN {events} e ON e.id = b.life_event_id WHERE {where}) x "
        f"WHERE {joiner.join(matches) or '1 = 0'} "
        f"ORDER BY nearness DESC, score DESC, x.popularity DESC, x.slug LIMIT {MAX_BUNDLES}) s"
    )
    return sql, [*score_params, *near_params, *where_params, *match_params]


def statement(
    plan: Plan,
    filters: Mapping[str, str],
    *,
    relaxed: bool,
    limit: int,
    offset: int,
    region: str = "",
    bundles: bool = False,
) -> tuple[str, list]:
    """One statement answering a search for words: rows ('hit', -, -, position, id), ('total',
    -, -, count, top score), ('capped', name|other, -, candidates, -), (facet, value, label,
    count, -) and, with ``bundles``, ('bundle', -, -, position, id) (``bundle_sql``).

    Name matches are ranked by their nearness to ``region`` first (``near_sql``).

    The candidates are bounded: at most MAX_CANDIDATES items holding every word in the name, and
    as many more holding them elsewhere, found through the full-text indexes and read once.
    Below the bound everything is exact (on Guangdong's 2,262 items, all but the broadest single
    words such as 证明 and 申请); above it, which of the matches are ranked is up to the index
    scan, and the counts are lower bounds. Browsing (no words) is ``browse``."""
    engine = backend()
    predicates = [filter_predicate(key, value) for key, value in filters.items()]
    miss_sql = [f"CASE WHEN {sql} THEN 0 ELSE 1 END" for sql, _ in predicates]
    miss_params = [p for _, args in predicates for p in args]
    misses = " + ".join(miss_sql) or "0"
    score, score_params = score_sql(plan, relaxed=relaxed)
    columns = ["i.id", "i.code", "i.popularity", "i.department_id", "i.region_id", "i.item_type"]
    columns += ["i.for_citizens", "i.for_enterprises", "i.online", "i.mobile", "i.trips"]
    columns += ["i.id_only"]
    columns += [f"{sql} AS x_{key}" for sql, key in zip(miss_sql, filters, strict=True)]
    select = f"SELECT {', '.join(columns)}, {misses} AS misses, {score} AS score"
    select_params = [*miss_params, *miss_params, *score_params]

    def rows(
        node: Node, *, unless: Node | None = None, near: tuple[str, list] = ("0", [])
    ) -> tuple[str, list]:
        """The published items holding ``node`` but not ``unless`` and failing at most one
        filter, with their misses, score and nearness; at most MAX_CANDIDATES."""
        match, args = engine.match(node)
        where = f"i.is_active AND {match}"
        params = [*select_params, *near[1], *args]
        if unless is not None:
            match, args = engine.match(unless)
            where += f" AND NOT {match}"
            params += args
        if miss_sql:
            where += f" AND {misses} <= 1"
            params += miss_params
        sql = f"{select}, {near[0]} AS nearness FROM {ITEMS} i WHERE {where}"
        return f"{sql} LIMIT {MAX_CANDIDATES}", params

    in_name = plan.name_match(relaxed=relaxed)
    name_sql, name_params = rows(in_name, near=near_sql(region))
    elsewhere = all_of([plan.match(relaxed=relaxed), plan.elsewhere_match(relaxed=relaxed)])
    other_sql, other_params = rows(elsewhere, unless=in_name)
    ctes = (
        f"c_name AS MATERIALIZED ({name_sql}), c_other AS MATERIALIZED ({other_sql}), "
        "m AS MATERIALIZED (SELECT * FROM c_name UNION ALL SELECT * FROM c_other)"
    )
    params = [*name_params, *other_params]
    params += [limit, offset]
    # m: the candidates failing at most one filter, scored: the page (failing none), the count
    # and every facet (failing none but its own) are read from it. h: the page.
    order = "nearness DESC, score DESC, popularity DESC, code"
    sql = (
        f"WITH {ctes}, h AS MATERIALIZED (SELECT id, nearness, score, popularity, code FROM m "
        f"WHERE misses = 0 ORDER BY {order} LIMIT %s OFFSET %s) "
        f"SELECT 'hit', NULL, NULL, ROW_NUMBER() OVER (ORDER BY {order}), h.id FROM h "
        f"UNION ALL {sums_sql(filters)}"
    )
    for key in ("department", "region", "type", "theme"):
        where = f"misses - x_{key} = 0" if key in filters else "misses = 0"
        sql += " UNION ALL " + group_facet_sql(key, where)
    if plan.han_terms:
        # The page's materials, for the excerpts under each result.
        sql += (
            " UNION ALL SELECT 'material', x.name, NULL, ROW_NUMBER() OVER (ORDER BY x.item_id, "
            f"x.sort_order, x.id), x.item_id FROM {Material._meta.db_table} x "
            "WHERE x.item_id IN (SELECT id FROM h)"
        )
    found_bundles = bundle_sql(plan, filters, relaxed=relaxed, region=region) if bundles else None
    if found_bundles is not None:
        sql += f" UNION ALL {found_bundles[0]}"
        params += found_bundles[1]
    return sql, params


@dataclass
class Found:
    ids: list[int]
    total: int
    top: int
    counts: dict[str, list[tuple[str, str, int]]]
    capped: bool
    materials: dict[int, list[str]] = field(default_factory=dict)
    bundle_ids: list[int] = field(default_factory=list)


def run(
    plan: Plan,
    filters: Mapping[str, str],
    *,
    relaxed: bool,
    page: int,
    page_size: int,
    region: str = "",
    bundles: bool = False,
) -> Found:
    sql, params = statement(
        plan,
        filters,
        relaxed=relaxed,
        limit=page_size,
        offset=(page - 1) * page_size,
        region=region,
        bundles=bundles,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    hits: list[tuple[int, int]] = []
    bundle_hits: list[tuple[int, int]] = []
    materials: list[tuple[int, int, str]] = []
    found = Found([], 0, 0, {key: [] for key in FACET_KEYS}, False)
    for kind, value, label, n, extra in rows:
        if kind == "hit":
            hits.append((n, extra))
        elif kind == "bundle":
            bundle_hits.append((n, extra))
        elif kind == "material":
            materials.append((n, extra, value))
        elif kind == "total":
            found.total, found.top = n or 0, extra or 0
        elif kind == "capped":
            found.capped = found.capped or (n or 0) >= MAX_CANDIDATES
        elif n:
            found.counts[kind].append((value, label or "", n))
    found.ids = [pk for _, pk in sorted(hits)]
    found.bundle_ids = [pk for _, pk in sorted(bundle_hits)]
    for _position, item_id, name in sorted(materials):
        found.materials.setdefault(item_id, []).append(name)
    return found


def build_facets(counts, filters: Mapping[str, str]) -> dict[str, list[Facet]]:
    labels: dict[str, dict[str, str]] = {
        "type": {v: str(label) for v, label in ServiceItem.ItemType.choices},
        "audience": {v: str(label) for v, label in Audience.choices},
    }
    flag_labels = {
        "online": _("Online"),
        "mobile": _("On a phone"),
        "zero_trips": _("No trip to the hall"),
        "id_only": _("ID card alone"),
    }
    facets: dict[str, list[Facet]] = {}
    for key in FACET_KEYS:
        chosen = filters.get(key)
        if key in FLAG_KEYS:
            n = sum(count for _, _, count in counts[key])
            facets[key] = [Facet("1", flag_labels[key], n, chosen == "1")]
            continue
        rows = [
            Facet(value, labels.get(key, {}).get(value, label) or value, n, value == chosen)
            for value, label, n in counts[key]
        ]
        if chosen and not any(f.selected for f in rows):
            rows.append(Facet(chosen, labels.get(key, {}).get(chosen, chosen), 0, True))
        rows.sort(key=lambda f: (-f.count, f.label, f.value))
        facets[key] = rows
    return facets


@dataclass
class Answer:
    """What a search found, as plain data (what the cache keeps): the page's item ids in order,
    the count and facet counts, the page's materials (for the excerpts) and the words searched.
    """

    ids: list[int]
    total: int
    counts: dict[str, list[tuple[str, str, int]]]
    capped: bool
    materials: dict[int, list[str]]
    terms: list[str]
    han_terms: list[str]
    ascii_terms: list[str]
    corrected: str = ""
    expanded_from: str = ""
    partial: bool = False
    # The bundles found, best first, as ``bundle_rows`` reads them (few, small, and every edit
    # of a bundle bumps the generation: kept whole with the answer).
    bundles: list[dict] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Browsing: no words
# ---------------------------------------------------------------------------------------------

# Counted per department, region and type together, in one pass over the partial index
# item_facets_idx (published items only); the three facets are summed up from it.
GROUPS_SQL = (
    "SELECT d.code, d.name, r.code, r.name, g.item_type, g.n, {sums} FROM (SELECT "
    "i.department_id, i.region_id, i.item_type, COUNT(*) AS n, {sum_columns} FROM {items} i "
    "WHERE {where} GROUP BY i.department_id, i.region_id, i.item_type) g "
    "JOIN {departments} d ON d.id = g.department_id JOIN {regions} r ON r.id = g.region_id"
)
THEMES_SQL = (
    "SELECT y.slug, y.name, g.n FROM (SELECT tt.theme_id, COUNT(*) AS n FROM {themes_m2m} tt "
    "WHERE {where} GROUP BY tt.theme_id) g JOIN {themes} y ON y.id = g.theme_id"
)


def published_where(filters: Mapping[str, str]) -> tuple[str, list]:
    """SQL true when item ``i`` is published and passes every filter."""
    predicates = [filter_predicate(key, value) for key, value in filters.items()]
    sql = " AND ".join(["i.is_active", *(predicate for predicate, _ in predicates)])
    return sql, [p for _, args in predicates for p in args]


Counts = dict[str, list[tuple[str, str, int]]]


def count_groups(filters: Mapping[str, str]) -> tuple[int, Counts]:
    """How many published items pass ``filters``, and their counts by department, region, type,
    audience and feature (``FACET_KEYS`` but the themes): plain data, for the cache."""
    where, params = published_where(filters)
    sql = GROUPS_SQL.format(
        sums=", ".join(f"g.s{n}" for n in range(len(SUMS))),
        sum_columns=", ".join(
            f"SUM(CASE WHEN i.{condition} THEN 1 ELSE 0 END) AS s{n}"
            for n, (_, _, condition) in enumerate(SUMS)
        ),
        items=ITEMS,
        where=where,
        departments=Department._meta.db_table,
        regions=Region._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    total = 0
    groups: dict[str, dict[str, list]] = {key: {} for key in ("department", "region", "type")}
    sums = [0] * len(SUMS)
    for code, name, region_code, region_name, item_type, n, *flags in rows:
        total += n
        for key, value, label in (
            ("department", code, name),
            ("region", region_code, region_name),
            ("type", item_type, ""),
        ):
            groups[key].setdefault(value, [label, 0])[1] += n
        sums = [a + b for a, b in zip(sums, flags, strict=True)]
    counts: Counts = {key: [] for key in FACET_KEYS if key != "theme"}
    for key, by_value in groups.items():
        counts[key] = [(value, label, n) for value, (label, n) in by_value.items()]
    for (key, value, _condition), n in zip(SUMS, sums, strict=True):
        if n:
            counts[key].append((value, "", n))
    return total, counts


def count_themes(filters: Mapping[str, str]) -> list[tuple[str, str, int]]:
    """The published items passing ``filters`` by theme: (slug, name, count)."""
    if filters:
        where, params = published_where(filters)
        where = f"tt.serviceitem_id IN (SELECT i.id FROM {ITEMS} i WHERE {where})"
    else:
        # Every theme link but those of withdrawn items, which are few: no pass over the items.
        where, params = (
            f"NOT EXISTS (SELECT 1 FROM {ITEMS} x WHERE x.id = tt.serviceitem_id "
            "AND NOT x.is_active)",
            [],
        )
    sql = THEMES_SQL.format(themes_m2m=THEMES_M2M, where=where, themes=Theme._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


def browse_page(filters: Mapping[str, str], *, limit: int, offset: int) -> list[int]:
    """The ids of one page of the published items passing ``filters``, most used first."""
    where, params = published_where(filters)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT i.id FROM {ITEMS} i WHERE {where} ORDER BY i.popularity DESC, i.code "
            "LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        return [pk for (pk,) in cursor.fetchall()]


def browse(filters: Mapping[str, str], *, page: int, page_size: int) -> Answer:
    """The published items passing ``filters``, most used first, with facet counts.

    Facets are disjunctive as with words: a group whose filter is chosen counts the items
    passing the *other* filters. Each piece is cached on its own: the page's ids, and the
    counts (by department, region, type and feature in one statement, by theme in another) of
    each set of filters. The counts over the whole catalog, which every browse with one filter
    needs for that filter's own group, are thus counted once a generation for everyone, and
    none is counted that is not shown."""
    chosen = {key: value for key, value in filters.items() if key in FACET_KEYS}
    base = sorted(filters.items())
    wanted: dict[str, list] = {"page": ["page", base, page, page_size], "groups": ["groups", base]}
    if "theme" not in chosen:
        wanted["themes"] = ["themes", base]
    for key in chosen:
        others = sorted((k, v) for k, v in filters.items() if k != key)
        wanted[key] = ["themes" if key == "theme" else "groups", others]
    entries = search_cache.Entries("browse")
    values = dict(zip(wanted, entries.get_many(list(wanted.values())), strict=True))
    fresh = []
    for name, parts in wanted.items():
        if values[name] is not None:
            continue
        kind, filter_set = parts[0], dict(parts[1])
        if kind == "page":
            values[name] = browse_page(filters, limit=page_size, offset=(page - 1) * page_size)
        elif kind == "groups":
            values[name] = count_groups(filter_set)
        else:
            values[name] = count_themes(filter_set)
        fresh.append((parts, values[name]))
    entries.set_many(fresh)
    counts: Counts = {}
    for key in FACET_KEYS:
        if key in chosen:
            counts[key] = values[key] if key == "theme" else values[key][1][key]
        else:
            counts[key] = values["themes"] if key == "theme" else values["groups"][1][key]
    return Answer(
        ids=values["page"],
        total=values["groups"][0],
        counts=counts,
        capped=False,
        materials={},
        terms=[],
        han_terms=[],
        ascii_terms=[],
    )


# ---------------------------------------------------------------------------------------------
# Typo correction
# ---------------------------------------------------------------------------------------------


def typo_grams(plan: Plan) -> tuple[list[str], list[str], str] | None:
    """(all grams, grams that may find candidates, what is corrected) or None if not worth it:
    words typed apart (出生 新生儿) are several searches, not one mistyped name."""
    if t.has_han(plan.text) and len(plan.text.split()) > 1:
        return None
    han = "".join(t.HAN_RUN_RE.findall(plan.text))
    if han:
        if not 3 <= len(han) <= TYPO_MAX_CHARS:
            return None
        pairs = t.dedupe(t.bigrams(han))
        return t.dedupe([*han, *pairs]), pairs, han
    letters = "".join(t.LETTERS_RE.findall(plan.text))
    if not 4 <= len(letters) <= TYPO_MAX_CHARS * 3:
        return None
    grams = t.dedupe(t.trigrams(letters))
    return grams, grams, letters


def best_window(typed: str, candidates: list[str], grams_of) -> str:
    """The piece of the found name (or its pinyin) of the typed length that shares most grams
    with what was typed, then most characters in place: 结婚登记 out of 结婚登记预约 for 结昏登记,
    驾驶证 rather than 车驾驶 for 驾驶正."""
    wanted = set(grams_of(typed))

    def likeness(candidate: str) -> tuple[int, int]:
        in_place = sum(a == b for a, b in zip(typed, candidate, strict=False))
        return len(wanted & set(grams_of(candidate))), in_place

    return max(candidates, key=likeness, default="")


def correct(plan: Plan) -> str:
    """A correction of a query nothing (or nothing well) matches, from the name that shares the
    most characters and character pairs (pinyin: letter trigrams) with it; "" if none does."""
    found = typo_grams(plan)
    if not found:
        return ""
    grams, seeds, typed = found
    place = NAME if t.has_han(typed) else TYPO
    engine = backend()
    similarity, params = [], []
    for gram in grams:
        match, args = engine.match(Term(gram, place))
        similarity.append(f"CASE WHEN {match} THEN 1 ELSE 0 END")
        params += args
    seed_match, seed_params = engine.match(any_of(Term(g, place) for g in seeds))
    # Bounded like a search: at most MAX_CANDIDATES items sharing a pair (or a trigram).
    sql = (
        f"SELECT name, shared, main_name, sub_name FROM (SELECT i.name, i.main_name, "
        f"i.sub_name, i.popularity, i.code, {brevity_sql()} AS brevity, "
        f"{' + '.join(similarity)} AS shared FROM {ITEMS} i WHERE i.is_active AND {seed_match} "
        f"LIMIT {MAX_CANDIDATES}) c ORDER BY shared DESC, brevity DESC, popularity DESC, code "
        "LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *seed_params])
        row = cursor.fetchone()
    if not row or row[1] < max(2, TYPO_SHARE * len(grams)):
        return ""
    names = [name for name in (row[0], row[2], row[3]) if name]  # its name, main and sub-item
    windows: list[str] = []
    if t.has_han(typed):
        for name in names:
            for run in t.HAN_RUN_RE.findall(t.normalize(name)):
                windows += [
                    run[i : i + len(typed)] for i in range(max(1, len(run) - len(typed) + 1))
                ]
        grams_of = lambda s: [*s, *t.bigrams(s)]  # noqa: E731
    else:
        for name in names:
            words = [t.syllables(w) for w in t.cut(t.normalize(name))]
            for i in range(len(words)):
                tail = [s for word in words[i:] for s in word]
                windows += ["".join(tail)[: len(typed)], t.initials(tail)[: len(typed)]]
        grams_of = t.trigrams
    correction = best_window(typed, windows, grams_of)
    return correction if correction and correction != typed else ""


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def synonyms_for(value: str) -> dict[str, str]:
    """The active synonyms whose phrase occurs in the query (one small query; an edit in admin
    bumps the search cache's generation, so it applies to the next search). A loose filter:
    ``plan_query`` matches phrases to the query's words exactly."""
    needle = "".join(t.normalize(value).split())
    if not needle:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT phrase, expansion FROM {Synonym._meta.db_table} WHERE is_active "
            "AND %s LIKE ('%%' || REPLACE(LOWER(phrase), ' ', '') || '%%')",
            [needle],
        )
        return dict(cursor.fetchall())


def bundle_rows(ids: list[int]) -> list[dict]:
    """What a result shows of these bundles (its card, the API's bundle), as plain data in the
    order of ``ids``: one query, none without ids."""
    if not ids:
        return []
    rows = (
        Bundle.objects.filter(pk__in=ids, is_active=True)
        .annotate(part_count=Count("parts"))
        .order_by()
        .values(*BUNDLE_FIELDS)
    )
    by_id = {row["id"]: row for row in rows}
    return [by_id[pk] for pk in ids if pk in by_id]


def bundle_from_row(row: Mapping) -> Bundle:
    """A bundle as ``bundle_rows`` read it, with its region and life event, for templates and
    serializers (read only: never saved)."""
    bundle = Bundle(**{key: row[key] for key in BUNDLE_MODEL_FIELDS})
    bundle.region = Region(id=row["region_id"], code=row["region__code"], name=row["region__name"])
    if row["life_event_id"] is not None:
        bundle.life_event = LifeEvent(
            id=row["life_event_id"],
            slug=row["life_event__slug"],
            name=row["life_event__name"],
            name_en=row["life_event__name_en"],
        )
    bundle.part_count = row["part_count"]
    return bundle


def answer(
    query: str, filters: Mapping[str, str], *, page: int, page_size: int, region: str = ""
) -> Answer:
    """Search the database: the words as typed, else corrected, else some of them. On the first
    page, the bundles the words find first (as typed, else corrected, else some of them)."""
    plan = plan_query(query, synonyms_for(query) if query.strip() else None)

    def search(plan: Plan, *, relaxed: bool, bundles: bool) -> Found:
        return run(
            plan,
            filters,
            relaxed=relaxed,
            page=page,
            page_size=page_size,
            region=region,
            bundles=bundles and page == 1,
        )

    found = search(plan, relaxed=False, bundles=True)
    bundle_ids = found.bundle_ids
    corrected, partial = "", False
    if plan and (not found.total or (plan.suspicious and found.top < ALL_IN_NAME)):
        corrected = correct(plan)
        if corrected:
            plan = plan_query(corrected)
            found = search(plan, relaxed=False, bundles=not bundle_ids)
            bundle_ids = bundle_ids or found.bundle_ids
    if plan and not found.total and len(plan.groups) > 1:
        partial = True
        found = search(plan, relaxed=True, bundles=not bundle_ids)
        bundle_ids = bundle_ids or found.bundle_ids
    return Answer(
        ids=found.ids,
        total=found.total,
        counts=found.counts,
        capped=found.capped,
        materials=found.materials,
        terms=plan.terms,
        han_terms=plan.han_terms,
        ascii_terms=plan.ascii_terms,
        corrected=corrected,
        expanded_from=plan.expanded_from,
        partial=partial,
        bundles=bundle_rows(bundle_ids),
    )


# What a search result shows of a bundle (``bundle_rows``): its own columns, then its parts'
# count, region and life event.
BUNDLE_MODEL_FIELDS = (
    "id",
    "slug",
    "name",
    "audience",
    "summary",
    "promised_days",
    "trips",
    "popularity",
    "region_id",
    "life_event_id",
)
BUNDLE_FIELDS = (
    *BUNDLE_MODEL_FIELDS,
    "part_count",
    "region__code",
    "region__name",
    "life_event__slug",
    "life_event__name",
    "life_event__name_en",
)


# What a result shows (the page's list, the API's items): read by id, the rest of the row left
# in the table (its legal text and search columns make it a few kB).
RESULT_FIELDS = (
    "code",
    "name",
    "item_type",
    "for_citizens",
    "for_enterprises",
    "statutory_days",
    "promised_days",
    "trips",
    "online",
    "mobile",
    "id_only",
    "fee_fen",
    "acceptance_conditions",  # excerpts
    "department__code",
    "department__name",
    "region__code",
    "region__name",
)


def load_page(found: Answer) -> list[ServiceItem]:
    """The page's items by id, in one query, highlighted."""
    if not found.ids:
        return []
    by_id = (
        ServiceItem.objects.select_related("department", "region")
        .only(*RESULT_FIELDS)
        .order_by()
        .in_bulk(found.ids)
    )
    items = [by_id[pk] for pk in found.ids if pk in by_id]
    han, typed = tuple(found.han_terms), tuple(found.ascii_terms)
    for item in items:
        item.highlighted_name = highlight.highlight_name(item.name, han=han, typed=typed)
        materials = "；".join(found.materials.get(item.pk, []))
        item.snippet = highlight.snippet((materials, item.acceptance_conditions), han=han)
    return items


def search_items(
    *,
    text: str = "",
    filters: Mapping[str, str] | None = None,
    page: int = 1,
    page_size: int = 20,
    region: str = "",
) -> SearchResult:
    """Published items matching ``text`` (Chinese, pinyin, initials, colloquial words, with typo
    correction) and ``filters``, ranked, one page of them, with facet counts; on the first page,
    the bundles the words find, to be shown before the items.

    ``region`` is the searcher's region code (``selectors.user_region_code``; "" when none is
    known): the items named by the words are ranked nearest first (``near_sql``). Browsing (no
    words) ignores it.

    The answer is cached for the catalog's generation (``cache``), under the query as the
    engine reads it (normalised, spaces collapsed) and the region: a repeated search reads only
    the page's items."""
    query = (text or "").strip()[:MAX_QUERY_CHARS]
    filters = clean_filters(filters)
    page, page_size = max(1, int(page)), max(1, int(page_size))
    region = region if REGION_CODE_RE.fullmatch(region or "") else ""
    searched = " ".join(t.normalize(query).split())
    if query_tokens(searched):
        found = search_cache.remember(
            "search",
            [searched, filters, page, page_size, region],
            lambda: answer(searched, filters, page=page, page_size=page_size, region=region),
        )
    else:
        found = browse(filters, page=page, page_size=page_size)
    return SearchResult(
        items=load_page(found),
        bundles=[bundle_from_row(row) for row in found.bundles],
        total=found.total,
        page=page,
        page_size=page_size,
        query=query,
        terms=found.terms,
        facets=build_facets(found.counts, filters),
        corrected=found.corrected,
        expanded_from=found.expanded_from,
        partial=found.partial,
        capped=found.capped,
    )
