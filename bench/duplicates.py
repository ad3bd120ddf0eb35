"""How good and how fast are the possible-duplicate suggestions? A script, not a test.

    .venv/bin/python bench/duplicates.py [--erp 100000] [--crm 100000] [--near 0.02] [--friends 0.01]

Makes `--erp` ERP customer names and `--crm` CRM account names (deterministic, made of invented words
with legal forms, so no two parties share a name by chance). Among the CRM names, a share `--near` are
planted near-duplicates of ERP names (a typo, another spelling of the legal form, other case, words in
another order, accents or punctuation) and a share `--friends` are false friends (an ERP name with one
word replaced: another company). Runs `sync.fuzzy.suggest` as the preview does and prints wall time,
peak memory, and the precision and recall of the suggestions at or above the default score, ending with
one line `precision P recall R seconds S peak_mb M`.

Targets: under 60 seconds and 500 MB; precision at least 0.95 and recall at least 0.90.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sync import fuzzy  # noqa: E402 - after the path is set

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "bra", "cle", "dor", "fen", "gal", "hul", "jor",
             "kel", "lin", "mar", "nor", "pel", "qua", "ros", "sel", "tor", "ula", "ven", "wes", "xan", "yor", "zel",
             "an", "ber", "cor", "del", "ess", "fal", "gri", "hav", "ist", "jun", "kip", "lam", "mos", "nik", "orb",
             "pra", "rin", "sum", "tev", "ure", "vik", "wal", "yen", "zor", "bel", "dra", "fin", "gor", "hes", "lux"]
LEGAL = ["Ltd", "Inc.", "GmbH", "LLC", "S.A.", "Corp.", "Co.", "PLC", "AG", "B.V."]
SPELLINGS = {"Ltd": "Limited", "Inc.": "Incorporated", "Corp.": "Corporation", "Co.": "Company", "S.A.": "SA",
             "GmbH": "GMBH", "LLC": "L.L.C.", "PLC": "plc", "AG": "A.G.", "B.V.": "BV"}
ACCENTS = str.maketrans({"a": "á", "e": "é", "o": "ö", "u": "ü"})


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()


def company(rng: random.Random, used: set[str]) -> str:
    while True:
        name = f"{word(rng)} {word(rng)} {rng.choice(LEGAL)}"
        if name not in used:
            used.add(name)
            return name


def near_twin(rng: random.Random, name: str) -> str:
    """The same party written otherwise."""
    *words, legal = name.split(" ")
    kind = rng.choice(["typo", "legal", "case", "order", "accent"])
    if kind == "typo":
        target = rng.randrange(len(words))
        letters = list(words[target])
        spot = rng.randrange(1, len(letters))
        if rng.random() < 0.5:
            del letters[spot]
        else:
            letters[spot] = rng.choice("aeioulnrst")
        words[target] = "".join(letters)
    elif kind == "legal":
        legal = SPELLINGS[legal]
    elif kind == "case":
        return name.upper() if rng.random() < 0.5 else name.lower()
    elif kind == "order":
        words = list(reversed(words))
    else:
        words = [w.translate(ACCENTS) for w in words]
        legal = legal.replace(".", "")
    return " ".join([*words, legal])


def false_friend(rng: random.Random, name: str, used: set[str]) -> str:
    """Another company that shares a word and the legal form."""
    *words, legal = name.split(" ")
    while True:
        other = list(words)
        other[rng.randrange(len(other))] = word(rng)
        candidate = " ".join([*other, legal])
        if candidate not in used:
            used.add(candidate)
            return candidate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--erp", type=int, default=100_000)
    parser.add_argument("--crm", type=int, default=100_000)
    parser.add_argument("--near", type=float, default=0.02)
    parser.add_argument("--friends", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    used: set[str] = set()
    erp_names = [company(rng, used) for _ in range(args.erp)]
    twins: dict[str, int] = {}  # CRM id -> the ERP record it is the same party as
    crm = []
    near, friends = int(args.crm * args.near), int(args.crm * args.friends)
    picks = rng.sample(range(args.erp), near + friends)
    for n, erp_index in enumerate(picks[:near]):
        crm.append(fuzzy.Party(key=f"near-{n}", name=near_twin(rng, erp_names[erp_index])))
        twins[f"near-{n}"] = erp_index
    for n, erp_index in enumerate(picks[near:]):
        crm.append(fuzzy.Party(key=f"friend-{n}", name=false_friend(rng, erp_names[erp_index], used)))
    crm += [fuzzy.Party(key=f"new-{n}", name=company(rng, used)) for n in range(args.crm - near - friends)]
    rng.shuffle(crm)
    erp = [fuzzy.Party(key=index, name=name) for index, name in enumerate(erp_names)]
    print(f"bench/duplicates.py: {args.erp} ERP customers, {args.crm} CRM accounts, {near} near-duplicates, "
          f"{friends} false friends planted")

    started = time.perf_counter()
    suggestions = fuzzy.suggest(crm, erp)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    shown = [s for s in suggestions if s.score >= fuzzy.DEFAULT_SCORE]
    right = sum(1 for s in shown if twins.get(s.crm.key) == s.erp.key)
    friends_suggested = sum(1 for s in shown if str(s.crm.key).startswith("friend-"))
    precision = right / len(shown) if shown else 1.0
    recall = right / len(twins) if twins else 1.0
    print(f"  {len(suggestions)} suggestions, {len(shown)} at or above {fuzzy.DEFAULT_SCORE}: {right} right, "
          f"{friends_suggested} false friends, {len(shown) - right - friends_suggested} other")
    ok = precision >= 0.95 and recall >= 0.90 and seconds < 60 and peak < 500
    print(f"  {'PASS' if ok else 'MISS'} precision >= 0.95, recall >= 0.90, < 60 s, < 500 MB")
    print(f"precision {precision:.3f} recall {recall:.3f} seconds {seconds:.1f} peak_mb {peak:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
