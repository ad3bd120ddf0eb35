"""Possible duplicates before the first sync: CRM records about to be created although an unlinked ERP
record looks like the same party. Exact names are the duplicate rule's business; this finds the rest:
case, accents, punctuation and spacing ignored, legal forms made one ("Ltd" and "Limited"), word order,
small typos; emails for people, SKUs without separators for items.

Never all pairs: ERP records are indexed by blocking keys (each distinctive word, and each word's first
four letters, so a typo late in a word still meets its twin); a CRM record is compared only with the
records sharing a key with it, by rapidfuzz's token-sort ratio of the names without their legal forms.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from itertools import permutations

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

DEFAULT_SCORE = 90  # suggestions at or above this are listed first and accepted with "accept all above"
MIN_SCORE = 80  # below this nothing is suggested
BLOCK_LIMIT = 500  # a key shared by more ERP records than this says nothing about identity: not used

# Legal forms, as written -> one spelling; removed from the name that is compared, and compared apart.
LEGAL_FORMS = {
    "ltd": "ltd", "limited": "ltd", "inc": "inc", "incorporated": "inc", "corp": "corp", "corporation": "corp",
    "co": "co", "company": "co", "llc": "llc", "llp": "llp", "lp": "lp", "plc": "plc", "gmbh": "gmbh", "ag": "ag",
    "kg": "kg", "sa": "sa", "sas": "sas", "sarl": "sarl", "srl": "srl", "spa": "spa", "bv": "bv", "nv": "nv",
    "ab": "ab", "as": "as", "oy": "oy", "pty": "pty", "pvt": "pvt", "private": "pvt", "group": "group",
    "holding": "holding", "holdings": "holding", "kk": "kk", "sl": "sl", "se": "se", "ug": "ug",
}
_DOTTED = re.compile(r"\b((?:[a-z]\.){2,})")  # "s.a." -> "sa", "g.m.b.h." -> "gmbh"
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower case, without accents, punctuation or repeated spaces."""
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode().lower()
    text = _DOTTED.sub(lambda m: m.group(1).replace(".", ""), text)
    return " ".join(_NOT_WORD.sub(" ", text).split())


def split_name(text: str) -> tuple[str, frozenset[str]]:
    """(the name without legal forms, its words sorted; the legal forms)."""
    words = fold(text).split()
    forms = frozenset(LEGAL_FORMS[w] for w in words if w in LEGAL_FORMS)
    core = [w for w in words if w not in LEGAL_FORMS] or words
    return " ".join(sorted(core)), forms


def sku_key(text: str) -> str:
    return _NOT_WORD.sub("", fold(text))


@dataclass(frozen=True)
class Party:
    """One side of a possible pair: a key to find it again, its name, and what else may agree."""

    key: object  # the CRM id, or the ERP primary key
    name: str
    email: str = ""
    sku: str = ""
    label: str = ""  # as shown

    @property
    def shown(self) -> str:
        return self.label or self.name


@dataclass
class Suggestion:
    crm: Party
    erp: Party
    score: float
    agree: list[str] = field(default_factory=list)  # what agrees: "name", "legal form", "email", "SKU"


class Index:
    """ERP records by blocking key, ready for CRM records to look themselves up in."""

    def __init__(self, parties: list[Party]):
        self.parties = parties
        self.cores: list[str] = []
        self.forms: list[frozenset] = []
        self.blocks: dict[str, list[int]] = {}
        self.emails: dict[str, list[int]] = {}
        self.skus: dict[str, list[int]] = {}
        for index, party in enumerate(parties):
            core, forms = split_name(party.name)
            self.cores.append(core)
            self.forms.append(forms)
            for key in _keys(core):
                self.blocks.setdefault(key, []).append(index)
            if party.email:
                self.emails.setdefault(party.email.strip().lower(), []).append(index)
            if party.sku and sku_key(party.sku):
                self.skus.setdefault(sku_key(party.sku), []).append(index)

    def candidates(self, core: str, party: Party) -> set[int]:
        found: set[int] = set()
        for key in _keys(core):
            block = self.blocks.get(key)
            if block and len(block) <= BLOCK_LIMIT:
                found.update(block)
        if party.email:
            found.update(self.emails.get(party.email.strip().lower(), ()))
        if party.sku and sku_key(party.sku):
            found.update(self.skus.get(sku_key(party.sku), ()))
        return found

    def best(self, party: Party, *, min_score: float = MIN_SCORE) -> Suggestion | None:
        """The ERP record most like this CRM record, if any is alike enough."""
        core, forms = split_name(party.name)
        best = None
        for index in self.candidates(core, party):
            suggestion = self._compare(party, core, forms, index)
            if suggestion.score >= min_score and (best is None or suggestion.score > best.score):
                best = suggestion
        return best

    def _compare(self, party: Party, core: str, forms: frozenset, index: int) -> Suggestion:
        other = self.parties[index]
        score = name_score(core, self.cores[index])
        agree = ["name"] if score >= MIN_SCORE else []
        if forms and forms == self.forms[index]:
            agree.append("legal form")
        elif forms and self.forms[index] and not forms & self.forms[index]:
            score -= 5  # "Acme Ltd" and "Acme Inc" may well be two companies
        if party.email and other.email and party.email.strip().lower() == other.email.strip().lower():
            agree.append("email")
            score = max(score, 95.0)
        if party.sku and other.sku and sku_key(party.sku) == sku_key(other.sku):
            agree.append("SKU")
            score = max(score, 97.0)
        return Suggestion(crm=party, erp=other, score=round(min(score, 100.0), 1), agree=agree)


def name_score(one: str, two: str) -> float:
    """How alike two names (without legal forms, words sorted) are, 0-100. The same words: 100. The same
    words but for small typos (an edit in a word of five letters or more, two in one of ten or more):
    96, less 3 per further edit. Otherwise the token-sort ratio less 15, which stays below the default."""
    if not one or not two:
        return 0.0
    if one == two:
        return 100.0
    words_one, words_two = one.split(), two.split()
    if len(words_one) == len(words_two) and len(words_one) <= 4:
        edits = _typo_edits(words_one, words_two)
        if edits is not None:
            return 99.0 - 3 * edits
    return max(0.0, fuzz.token_sort_ratio(one, two) - 15)


def _typo_edits(words_one: list[str], words_two: list[str]) -> int | None:
    """The fewest edits pairing the words one to one when each pair is equal or a small typo; None when no
    such pairing exists."""
    best = None
    for order in permutations(words_two):
        edits = 0
        for a, b in zip(words_one, order, strict=True):
            if a == b:
                continue
            allowed = 2 if min(len(a), len(b)) >= 10 else 1 if min(len(a), len(b)) >= 5 else 0
            distance = Levenshtein.distance(a, b, score_cutoff=allowed)
            if distance > allowed:
                break
            edits += distance
        else:
            best = edits if best is None else min(best, edits)
    return best


def _keys(core: str) -> set[str]:
    words = [w for w in core.split() if len(w) > 1]
    keys = {f"w:{w}" for w in words}
    if len(words) == 1 and len(words[0]) >= 5:  # one word, maybe with a typo: its beginning and its end
        keys |= {f"p:{words[0][:4]}", f"s:{words[0][-4:]}"}
    return keys


def suggest(crm: list[Party], erp: list[Party], *, min_score: float = MIN_SCORE) -> list[Suggestion]:
    """For each CRM record, the most alike ERP record (each ERP record suggested once, to its best match),
    best first."""
    index = Index(erp)
    found = [s for s in (index.best(party, min_score=min_score) for party in crm) if s is not None]
    found.sort(key=lambda s: -s.score)
    taken: set = set()
    unique = []
    for suggestion in found:
        if suggestion.erp.key not in taken:
            taken.add(suggestion.erp.key)
            unique.append(suggestion)
    return unique
