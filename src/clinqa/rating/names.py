"""User names: what makes a valid one (NFKC form, 1-64 characters, no control or invisible characters) and when two
look alike. Look-alikes are judged by Unicode's confusable skeleton (UTS #39, section 4): each character is replaced
by the prototype of its confusable class, from the confusables table that `confusable_homoglyphs` ships (Unicode's
confusables.txt); the result is case folded and mapped again, so "Ann", "аnn" (Cyrillic а) and "ann" share a
skeleton, as do "b0b" and "bob", "Il1" and "lll", or "rn" and "m"."""

from __future__ import annotations

import unicodedata
from functools import cache

from confusable_homoglyphs.confusables import confusables_data

MAX_NAME = 64
DIRECTION_MARKS = dict.fromkeys(map(ord, "\u200e\u200f"))     # the table wraps right-to-left glyphs in these


def normalize_username(username: str) -> str:
    """NFKC form, surrounding spaces dropped; ValueError naming the problem for a name that cannot be a user name."""
    name = unicodedata.normalize("NFKC", str(username)).strip()
    if not name:
        raise ValueError("username: a user needs a name")
    if len(name) > MAX_NAME:
        raise ValueError(f"username: at most {MAX_NAME} characters (got {len(name)})")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ValueError("username: control or invisible characters are not allowed")
    return name


@cache
def _prototypes() -> dict[str, str]:
    """Character -> the prototype of its confusable class. The table lists, for each prototype, the characters
    confusable with it and, for each of those, the prototype; the classes are joined by union-find and each is
    represented by its prototype (the member the most others point to; a multi-character one such as "rn" first)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    links = {k.translate(DIRECTION_MARKS): [g["c"].translate(DIRECTION_MARKS) for g in v]
             for k, v in confusables_data.items()}
    for key, glyphs in links.items():
        for g in glyphs:
            parent[find(g)] = find(key)
    classes: dict[str, list[str]] = {}
    for member in parent:
        classes.setdefault(find(member), []).append(member)
    out = {}
    for members in classes.values():
        proto = max(members, key=lambda m: (len(m) > 1, len(links.get(m, ())), m.isascii(), -ord(m[0])))
        out.update({m: proto for m in members if len(m) == 1})
    return out


def skeleton(name: str) -> str:
    """The UTS #39 skeleton, case folded (and mapped again): equal skeletons mean the names can be taken for one
    another."""
    protos = _prototypes()

    def mapped(s: str) -> str:
        return unicodedata.normalize("NFD", "".join(protos.get(ch, ch) for ch in unicodedata.normalize("NFD", s)))
    return mapped(mapped(name).casefold())


def confusable_with(name: str, existing: list[str]) -> str | None:
    """The first of `existing` that `name` could be taken for (same skeleton), or None."""
    key = skeleton(name)
    return next((other for other in existing if skeleton(other) == key), None)
