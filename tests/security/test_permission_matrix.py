"""Every URL pattern × every role × the objects it is filled with: the answer each role gets,
that no answer carries a private string of an object the role may not see, and that every write
a role must be refused is refused and changes nothing.

The expectations are the table in ``tests/security/matrix.py``; the objects and their private
strings are ``tests/security/world.py``. Leaks and wrong answers that are known and being fixed
are listed below with the issue they belong to; an entry that no longer happens fails its test,
so the lists cannot go stale: delete the entry when the fix lands.
"""

from __future__ import annotations

import pytest
from django.urls import resolve

from .conftest import fingerprint
from .matrix import SUMMARY, all_routes, describe, matches, url_patterns
from .world import ROLES

ROUTES = all_routes()
PATTERNS = url_patterns()


# Leaks and wrong answers known and not fixed yet, each with where the fix belongs. Delete an
# entry when its fix lands: the test fails while an entry no longer happens, so the lists cannot
# go stale.
KNOWN_LEAKS: dict[tuple[str, str], str] = {}

# (pattern, read label, role) → the answer given instead of the table's.
KNOWN_WRONG_ANSWERS: dict[tuple[str, str, str], str] = {}

# (pattern, write label, role) → the answer a refused write gets instead of the table's.
KNOWN_WRONG_REFUSALS: dict[tuple[str, str, str], str] = {}

# (pattern, write label, role) → a refused write that still changes rows.
KNOWN_WRONG_WRITES: dict[tuple[str, str, str], str] = {}


def test_every_url_pattern_is_in_the_matrix():
    missing = [p for p in PATTERNS if p not in ROUTES]
    stale = [p for p in ROUTES if p not in PATTERNS]
    assert not missing, f"URL patterns the permission matrix does not cover: {missing}"
    assert not stale, f"matrix rows for URL patterns that no longer exist: {stale}"


def _known(table: dict, pattern: str) -> dict:
    return {key: why for key, why in table.items() if key[0] == pattern}


@pytest.mark.parametrize("pattern", [p for p in PATTERNS if p in ROUTES])
def test_reads(pattern, world, call):
    reads = ROUTES[pattern].reads(world)
    assert reads, f"{pattern}: the matrix fills it with no object"
    SUMMARY.patterns += 1
    leaks, wrong = [], []
    for read in reads:
        path = read.url.split("?", 1)[0]
        assert resolve(path).route == pattern, f"{read.url} does not resolve to {pattern}"
        SUMMARY.objects.add((pattern, read.label))
        forbidden = {role: world.forbidden_for(role) for role in ROLES}
        for role in ROLES:
            SUMMARY.cells += 1
            answer = call(role, "get", read.url)
            expected = read.expect(role)
            if not matches(expected, answer):
                wrong.append((read.label, role, expected, describe(answer)))
            for secret in forbidden[role]:
                if secret.text in answer.text:
                    leaks.append((read.label, role, secret.what, secret.text))
    _judge(pattern, leaks, wrong)


def _grouped(rows: list, key, role_at: int) -> str:
    """One line per kind of finding, with the roles it happened to."""
    groups: dict = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row[role_at])
    return "\n".join(
        f"  {' · '.join(map(str, k))}: {', '.join(dict.fromkeys(roles))}"
        for k, roles in groups.items()
    )


def _judge(pattern: str, leaks: list, wrong: list) -> None:
    known_leaks = _known(KNOWN_LEAKS, pattern)
    known_wrong = _known(KNOWN_WRONG_ANSWERS, pattern)
    new_leaks = [leak for leak in leaks if (pattern, leak[2]) not in known_leaks]
    new_wrong = [w for w in wrong if (pattern, w[0], w[1]) not in known_wrong]
    SUMMARY.leaks.extend((pattern, *leak) for leak in new_leaks)
    SUMMARY.known_leaks.extend((pattern, *leak) for leak in leaks if leak not in new_leaks)
    SUMMARY.wrong_answers.extend((pattern, *w) for w in new_wrong)
    still_leaking = {(pattern, leak[2]) for leak in leaks}
    still_wrong = {(pattern, w[0], w[1]) for w in wrong}
    fixed = [key for key in known_leaks if key not in still_leaking]
    fixed += [key for key in known_wrong if key not in still_wrong]
    problems = []
    if new_leaks:
        problems.append("leaks:\n" + _grouped(new_leaks, lambda x: (x[2], x[3], x[0]), 1))
    if new_wrong:
        problems.append(
            "wrong answers:\n"
            + _grouped(new_wrong, lambda x: (x[0], f"expected {x[2]}", f"got {x[3]}"), 1)
        )
    if fixed:
        problems.append(
            "known entries that no longer happen (delete them from the lists):\n"
            + "\n".join(f"  {key}" for key in fixed)
        )
    assert not problems, f"{pattern}\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "pattern", [p for p in PATTERNS if p in ROUTES and ROUTES[p].writes is not None]
)
def test_refused_writes(pattern, world, call):
    writes = ROUTES[pattern].writes(world)
    assert writes, f"{pattern}: a mutating route with no write in the matrix"
    before = fingerprint()
    wrong, changed = [], []
    for write in writes:
        assert resolve(write.url.split("?", 1)[0]).route == pattern, write.url
        for role in sorted(write.refused):
            SUMMARY.writes += 1
            answer, dirty = call(
                role,
                write.method,
                write.url,
                data=write.data,
                json_body=write.json,
                baseline=before,
            )
            expected = write.expect(role)
            if not matches(expected, answer):
                wrong.append((write.label, role, expected, describe(answer)))
            if dirty:
                changed.append((write.label, role, describe(answer)))
    known = _known(KNOWN_WRONG_WRITES, pattern)
    new_changes = [c for c in changed if (pattern, c[0], c[1]) not in known]
    SUMMARY.wrong_writes.extend((pattern, *c) for c in new_changes)
    fixed = [key for key in known if (key[1], key[2]) not in {(c[0], c[1]) for c in changed}]
    known_wrong = _known(KNOWN_WRONG_REFUSALS, pattern)
    new_wrong = [w for w in wrong if (pattern, w[0], w[1]) not in known_wrong]
    SUMMARY.wrong_answers.extend((pattern, *w) for w in new_wrong)
    fixed += [key for key in known_wrong if (key[1], key[2]) not in {(w[0], w[1]) for w in wrong}]
    problems = []
    if new_changes:
        problems.append(
            "refused writes that changed rows:\n" + _grouped(new_changes, lambda x: (x[0], x[2]), 1)
        )
    if new_wrong:
        problems.append(
            "wrong answers:\n"
            + _grouped(new_wrong, lambda x: (x[0], f"expected {x[2]}", f"got {x[3]}"), 1)
        )
    if fixed:
        problems.append("known wrong writes that no longer happen: " + ", ".join(map(str, fixed)))
    assert not problems, f"{pattern}\n" + "\n".join(problems)


def test_the_write_detector_sees_a_write(world, call):
    """The fingerprint the refused writes are checked with notices a write that happens: a
    citizen marks their notices read, another asks the assistant; a search writes nothing."""
    before = fingerprint()
    answer, dirty = call("citizen_a", "post", "/my/notices/", data={}, baseline=before)
    assert answer.status_code == 302 and dirty is True
    answer, dirty = call(
        "citizen_b", "post", "/assistant/", data={"q": "户籍证明怎么开"}, baseline=before
    )
    assert answer.status_code == 302 and dirty is True
    answer, dirty = call("anonymous", "get", "/services/", baseline=before)
    assert answer.status_code == 200 and dirty is False
