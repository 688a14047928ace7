#!/usr/bin/env python3
"""Search benchmark inputs drawn from a hyojun SQLite database (issue 4).

  search_queries.py queries DB_FILE OUT_FILE [--count N] [--seed S]
      A mixed query file, one query per line (UTF-8), drawn deterministically from the corpus:
      1- and 2-character and 3–6-character substrings of real names, some typed the way
      mapping staff type them (カタカナ as ひらがな or half-width ｶﾀｶﾅ, full-width digits and
      Latin letters as ASCII, ASCII as full-width Ｌａｔｉｎ), and code prefixes. OUT_FILE.kinds
      holds `kind<TAB>query` for the same lines. A summary goes to stderr.

  search_queries.py groonga DB_FILE OUT_FILE
      Groonga commands (schema + load) holding the same corpus: table Concepts (key =
      system:code), display, and a vector column `names` with every designation (display and
      designation values of every row of that code), indexed by a TokenBigram / NormalizerAuto
      lexicon. Feed it to `groonga DB` on stdin.

The corpus is the rows of the current releases: table concepts, `valid_to IS NULL`; names are
`display` plus the `value` of every element of `designations` (JSON). Python 3 stdlib only.
"""

import json
import random
import sqlite3
import sys
import unicodedata
from collections import Counter, OrderedDict

# (kind, share of the queries). Shares add up to 1; the counts are rounded, the last kind
# takes the rest.
MIX = [
    ("1char", 0.075),       # 錠, 炎, 尿
    ("2char", 0.175),       # 胃炎, 血清
    ("3-6char", 0.40),      # 糖尿病性, ロキソニン
    ("hiragana", 0.075),    # とうにょう (from カタカナ names and readings)
    ("halfkana", 0.075),    # ｶﾌﾟｾﾙ
    ("ascii", 0.075),       # 2型, 60mg (full-width digits / Latin in the data, typed as ASCII)
    ("fullwidth", 0.025),   # ＨｂＡ１ｃ (ASCII in the data, typed full-width)
    ("code", 0.10),         # 6200…, 3A0…, 2149…, E11…
]
# Masters weighted so the small ones (JLAC 8k, 看護 4k rows) are not drowned by HOT and 病名.
MASTER_WEIGHTS = {"hot": 0.35, "byomei": 0.35, "jlac": 0.18, "nursing": 0.12}


def corpus(db_file):
    """[(master, system_key, code, display, [names], [(system, code) of links])] of the rows of
    the current releases."""
    con = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    rows = []
    for master, system, code, display, designations, links in con.execute(
            "SELECT master, system_key, code, display, designations, links FROM concepts "
            "WHERE valid_to IS NULL ORDER BY id"):
        names = [display]
        for d in json.loads(designations or "[]"):
            v = d.get("value") if isinstance(d, dict) else None
            if v and v not in names:
                names.append(v)
        carried = [(link[1], link[2]) for link in json.loads(links or "[]") if len(link) >= 3]
        rows.append((master, system, code, display, names, carried))
    con.close()
    if not rows:
        sys.exit(f"{db_file}: no current concepts (valid_to IS NULL)")
    return rows


# ------------------------------------------------------------------------- conversions

def is_katakana(ch):
    return "\u30a1" <= ch <= "\u30f6" or ch == "\u30fc"


def to_hiragana(s):
    return "".join(chr(ord(c) - 0x60) if "\u30a1" <= c <= "\u30f6" else c for c in s)


def _half_kana_table():
    """Full-width katakana → half-width, built from NFKC of the half-width block (voiced
    sounds as base + ﾞ/ﾟ)."""
    table = {}
    halves = [chr(c) for c in range(0xFF66, 0xFF9E)]
    for h in halves:
        table.setdefault(unicodedata.normalize("NFKC", h), h)
        for mark in ("\uff9e", "\uff9f"):
            full = unicodedata.normalize("NFKC", h + mark)
            if len(full) == 1:
                table.setdefault(full, h + mark)
    return table


HALF_KANA = _half_kana_table()


def to_half_kana(s):
    out = []
    for c in s:
        if c not in HALF_KANA:
            return None
        out.append(HALF_KANA[c])
    return "".join(out)


def is_fullwidth_alnum(c):
    return "\uff10" <= c <= "\uff19" or "\uff21" <= c <= "\uff3a" or "\uff41" <= c <= "\uff5a"


def is_ascii_alnum(c):
    return c.isascii() and c.isalnum()


def to_ascii(s):
    return "".join(chr(ord(c) - 0xFEE0) if is_fullwidth_alnum(c) else c for c in s)


def to_fullwidth(s):
    return "".join(chr(ord(c) + 0xFEE0) if is_ascii_alnum(c) else c for c in s)


def latin_or_digit(s):
    """Only ASCII or full-width letters and digits."""
    return all(unicodedata.normalize("NFKC", c).isascii() for c in s)


def typeable(s):
    """Letters and digits only (ー counts as a letter): no spaces, punctuation or the _ and
    ・ separators of composed names, so every query is a plain substring."""
    return bool(s) and all(c.isalnum() for c in s)


# ------------------------------------------------------------------------------ queries

class Drawer:
    def __init__(self, rows, seed):
        self.rng = random.Random(seed)
        self.by_master = OrderedDict()
        for r in rows:
            self.by_master.setdefault(r[0], []).append(r)
        self.masters = list(self.by_master)
        self.weights = [MASTER_WEIGHTS.get(m, 0.1) for m in self.masters]

    def row(self):
        master = self.rng.choices(self.masters, self.weights)[0]
        return self.rng.choice(self.by_master[master])

    def substring(self, name, length):
        if len(name) < length:
            return None
        start = self.rng.randrange(len(name) - length + 1)
        return name[start:start + length]

    def draw(self, kind):
        """One query of `kind`, or None when this attempt found nothing suitable."""
        rng = self.rng
        row = self.row()
        names = row[4]
        if kind == "1char":
            s = self.substring(rng.choice(names), 1)
            # A single letter or digit (ASCII or full-width) is not something anyone searches
            # for; a kanji or kana is.
            return s if s and typeable(s) and not latin_or_digit(s) else None
        if kind == "2char":
            s = self.substring(rng.choice(names), 2)
            return s if typeable(s or "") else None
        if kind == "3-6char":
            s = self.substring(rng.choice(names), rng.randint(3, 6))
            return s if typeable(s or "") else None
        if kind in ("hiragana", "halfkana"):
            # A run of katakana in a name or reading.
            kana = [n for n in names if sum(map(is_katakana, n)) >= 3]
            if not kana:
                return None
            s = self.substring(rng.choice(kana), rng.randint(3, 6))
            if not s or not all(map(is_katakana, s)) or s.startswith("ー"):
                return None
            if s[0] in "ーッャュョァィゥェォンヮ":
                return None  # nobody starts typing a word there
            return to_hiragana(s) if kind == "hiragana" else to_half_kana(s)
        if kind == "ascii":
            wide = [n for n in names if any(map(is_fullwidth_alnum, n))]
            if not wide:
                return None
            name = rng.choice(wide)
            # A substring of 2–6 characters around a full-width letter or digit.
            at = rng.choice([i for i, c in enumerate(name) if is_fullwidth_alnum(c)])
            length = rng.randint(2, 6)
            start = max(0, min(at - rng.randrange(length), len(name) - length))
            s = name[start:start + length]
            if len(s) < 2 or not typeable(s) or s.isdigit():
                return None  # bare digits ("00", "10") match everything and mean nothing
            return to_ascii(s)
        if kind == "fullwidth":
            latin = [n for n in names if sum(map(is_ascii_alnum, n)) >= 2]
            if not latin:
                return None
            name = rng.choice(latin)
            runs, cur = [], ""
            for c in name + " ":
                if is_ascii_alnum(c):
                    cur += c
                else:
                    if len(cur) >= 2:
                        runs.append(cur)
                    cur = ""
            if not runs:
                return None
            run = rng.choice(runs)
            length = rng.randint(2, min(6, len(run)))
            start = rng.randrange(len(run) - length + 1)
            s = run[start:start + length]
            return None if s.isdigit() else to_fullwidth(s)
        if kind == "code":
            codes = [(row[1], row[2])] + row[5]
            _, code = rng.choice(codes)
            if len(code) < 4:
                return None
            return code[:rng.randint(3, min(7, len(code) - 1))]
        raise ValueError(kind)


def make_queries(db_file, out_file, count, seed):
    drawer = Drawer(corpus(db_file), seed)
    targets, left = [], count
    for n, (kind, share) in enumerate(MIX):
        k = left if n == len(MIX) - 1 else round(count * share)
        targets.append((kind, k))
        left -= k
    seen, lines = set(), []
    for kind, k in targets:
        got, attempts = 0, 0
        while got < k:
            attempts += 1
            if attempts > 200 * k + 1000:
                sys.exit(f"could not draw {k} distinct {kind} queries (got {got})")
            q = drawer.draw(kind)
            if not q or q in seen or q != q.strip():
                continue
            seen.add(q)
            lines.append((kind, q))
            got += 1
    drawer.rng.shuffle(lines)
    with open(out_file, "w", encoding="utf-8") as f:
        f.write("".join(q + "\n" for _, q in lines))
    with open(out_file + ".kinds", "w", encoding="utf-8") as f:
        f.write("".join(f"{k}\t{q}\n" for k, q in lines))
    kinds = Counter(k for k, _ in lines)
    lengths = Counter("1-2" if len(q) <= 2 else "3+" for _, q in lines)
    examples = {}
    for k, q in lines:
        examples.setdefault(k, []).append(q)
    print(f"{len(lines)} queries (seed {seed}): " + ", ".join(f"{k} {kinds[k]}" for k, _ in MIX)
          + f"; by length 1–2 chars {lengths['1-2']}, 3+ {lengths['3+']}", file=sys.stderr)
    print("examples: " + "; ".join(f"{k}: " + " ".join(examples[k][:4]) for k, _ in MIX),
          file=sys.stderr)


# ------------------------------------------------------------------------------ groonga

GROONGA_SCHEMA = """\
table_create Concepts TABLE_HASH_KEY ShortText
column_create Concepts display COLUMN_SCALAR ShortText
column_create Concepts names COLUMN_VECTOR ShortText
table_create Terms TABLE_PAT_KEY ShortText --default_tokenizer TokenBigram --normalizer NormalizerAuto
"""
GROONGA_INDEX = (
    "column_create Terms concepts_names COLUMN_INDEX|WITH_POSITION|WITH_SECTION Concepts names\n")


def make_groonga(db_file, out_file):
    docs = OrderedDict()
    for _, system, code, display, names, _ in corpus(db_file):
        key = f"{system}:{code}"
        doc = docs.setdefault(key, {"_key": key, "display": display, "names": []})
        for n in names:
            if n not in doc["names"]:
                doc["names"].append(n)
    with open(out_file, "w", encoding="utf-8") as f:
        f.write(GROONGA_SCHEMA)
        f.write("load --table Concepts\n[\n")
        f.write(",\n".join(json.dumps(d, ensure_ascii=False) for d in docs.values()))
        f.write("\n]\n")
        # Index built after the load (offline construction, faster than updating it per row).
        f.write(GROONGA_INDEX)
    values = sum(len(d["names"]) for d in docs.values())
    print(f"groonga: {len(docs)} records (system:code), {values} names", file=sys.stderr)


def main():
    args = sys.argv[1:]
    opts = {"--count": "2000", "--seed": "20261121"}
    rest = []
    while args:
        a = args.pop(0)
        if a in opts and args:
            opts[a] = args.pop(0)
        else:
            rest.append(a)
    if len(rest) == 3 and rest[0] == "queries":
        make_queries(rest[1], rest[2], int(opts["--count"]), int(opts["--seed"]))
    elif len(rest) == 3 and rest[0] == "groonga":
        make_groonga(rest[1], rest[2])
    else:
        sys.exit("usage: search_queries.py queries DB_FILE OUT_FILE [--count N] [--seed S]\n"
                 "       search_queries.py groonga DB_FILE OUT_FILE")


if __name__ == "__main__":
    main()
