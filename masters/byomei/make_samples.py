#!/usr/bin/env python3
"""Generate SYNTHETIC ICD10対応標準病名マスター (HS005) sample releases for hyojun.

Every name, reading, 管理番号 (2999xxxx for names, 2799xxxx for modifiers — outside the real
ranges 20050004–20106047 / 27000001–27010117), exchange code (ZAxx, Z0xx), レセ電算 code
(8999xxx, 79xx/89xx) and index term is invented; nothing is copied from MEDIS data, which may
not be redistributed. ICD-10 codes are WHO codes chosen for their shapes (5th character,
dagger/asterisk, `T08-1`). Only the *layout* follows the real files: nmain 20 columns, mdfy 10,
index 9, CP932, no header row, every field double-quoted, CRLF; titles in `option/ttl_*.txt`
(5.18 uses the older `option/n_title/` folder and the older titles such as `ICD10`).

Outputs (relative to this script's folder, masters/byomei/):
  byomei518.zip   byomei518/main/{nmain,mdfy,index}518.txt, byomei518/option/n_title/ttl_*.txt
  byomei519.zip   byomei519/main/{nmain,mdfy,index}519.txt, byomei519/option/ttl_*.txt,
                  byomei519/spc519.pdf (a placeholder: layout documents are not imported)
  EXPECTED.md, EXPECTED.json   the 5.18 -> 5.19 diff, computed from the data

Usage: python3 masters/byomei/make_samples.py   (stdlib only, any cwd; deterministic apart
from the zlib stream inside the zips).
"""

import copy
import io
import json
import zipfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
OLD, NEW = "518", "519"

TTL_MAIN_OLD = [
    "変更区分", "病名管理番号", "病名表記", "病名表記カナ", "採択区分", "病名交換用コード", "ICD10",
    "ICD10複数分類コード", "ICD10確度", "複数ICD候補", "レセ電算コード", "レセ電算対応表記",
    "レセ電算対応確度", "変更履歴番号", "更新日付", "移行先病名管理番号", "単独使用禁止区分",
    "保険請求外区分", "予備３", "予備４",
]
# The current titles, with the long-vowel mark ー where older files have the hyphen ‐
# (both spellings occur in real title files).
TTL_MAIN_NEW = [
    "変更区分", "病名管理番号", "病名表記", "病名表記カナ", "採択区分", "病名交換用コード",
    "ＩＣＤ１０ー２０１３", "ＩＣＤ１０‐２０１３複数分類コード", "予備１", "予備２", "レセ電算コード",
    "傷病名省略名称", "使用分野", "変更履歴番号", "更新日付", "移行先病名管理番号", "単独使用禁止区分",
    "保険請求外区分", "予備３", "予備４",
]
TTL_MDFY = [
    "変更区分", "修飾語管理番号", "修飾語表記", "修飾語表記カナ", "修飾語交換用コード", "接続位置区分",
    "修飾語区分", "排他グループコード", "レセ電算修飾語コード", "修飾語説明用ラベル",
]
TTL_IDX = [
    "索引用語", "対応用語コード", "病名修飾語区分", "かな漢字区分", "同義語区分", "異字体区分",
    "第１版採用表記区分", "言語区分", "省略区分",
]
assert (len(TTL_MAIN_OLD), len(TTL_MAIN_NEW), len(TTL_MDFY), len(TTL_IDX)) == (20, 20, 10, 9)

# --------------------------------------------------------------------------- data


def name(flag, code, text, kana, ex, icd, receipt, date, *, icd2="", short=None, successor="",
         alone="00", claim="0", history="001", adopted="1", field="1"):
    """One nmain row (20 columns)."""
    return [flag, code, text, kana, adopted, ex, icd, icd2, "", "", receipt,
            text if short is None else short, field, history, date, successor, alone, claim, "", ""]


def names_518():
    return [
        name("0", "29990001", "見本性胃炎", "ミホンセイイエン", "ZA01", "K297", "8999001", "20231201"),
        # an older spelling of the same concept, abolished: same exchange code, 移行先 set
        name("1", "29990002", "見本胃炎", "ミホンイエン", "ZA01", "K297", "8999002", "20251201",
             successor="29990001"),
        name("0", "29990003", "急性見本肝炎", "キュウセイミホンカンエン", "ZA02", "B179", "8999003",
             "20231201"),
        # a 5-character Japanese extension
        name("0", "29990004", "見本１型呼吸不全", "ミホン１ガタコキュウフゼン", "ZA03", "J9690", "8999004",
             "20231201", short="見本１型呼吸不全症"),
        # dagger / asterisk pair
        name("0", "29990005", "見本菌性髄膜炎", "ミホンキンセイズイマクエン", "ZA04", "A390†", "8999005",
             "20231201", icd2="G01*"),
        # a site modifier is required; the ICD value as real files write it for T08 + 5th char
        name("0", "29990006", "見本部位骨折", "ミホンブイコッセツ", "ZA05", "T08-1", "8999006", "20231201",
             alone="01"),
        # not for insurance claims; a–d extension
        name("0", "29990007", "見本物質依存", "ミホンブッシツイゾン", "ZA06", "F152a", "8999007",
             "20231201", claim="1"),
        # a successor chain: 29990008 -> 29990009 (-> 29990010 in 5.19), one exchange code
        name("1", "29990008", "旧々見本病", "キュウキュウミホンビョウ", "ZA07", "R688", "8999008",
             "20241201", successor="29990009"),
        name("0", "29990009", "旧見本病", "キュウミホンビョウ", "ZA07", "R688", "8999009", "20241201"),
        # dropped from the file in 5.19 (removed)
        name("0", "29990011", "見本皮膚炎", "ミホンヒフエン", "ZA08", "L309", "8999011", "20231201"),
    ]


def names_519(old):
    rows = [r for r in copy.deepcopy(old) if r[1] not in ("29990002", "29990011")]
    by = {r[1]: r for r in rows}
    r = by["29990003"]                                     # reading corrected
    r[3], r[13], r[14] = "キュウセイミホンカンエン（カ）", "002", "20260601"
    r = by["29990007"]                                     # ICD extension changed
    r[6], r[13], r[14] = "F152b", "002", "20260601"
    r = by["29990009"]                                     # abolished, successor 29990010
    r[0], r[15], r[13], r[14] = "1", "29990010", "002", "20260601"
    rows.append(name("3", "29990010", "新見本病", "シンミホンビョウ", "ZA07", "R688", "8999010",
                     "20260601"))
    rows.append(name("3", "29990012", "見本鼻炎", "ミホンビエン", "ZA09", "J310", "8999012",
                     "20260601"))
    rows.sort(key=lambda r: r[1])
    return rows


def modifier(code, text, kana, ex, position, klass, group, receipt, label=""):
    return ["0", code, text, kana, ex, position, klass, group, receipt, label]


MDFY_518 = [
    modifier("27990001", "見本左", "ミホンヒダリ", "Z001", "10", "M1000000", "ZX01", "7901"),
    modifier("27990002", "見本右", "ミホンミギ", "Z002", "10", "M1000000", "ZX01", "7902"),
    modifier("27990003", "見本急性", "ミホンキュウセイ", "Z003", "10", "M4000000", "", "7903"),
    modifier("27990004", "の見本疑い", "ノミホンウタガイ", "Z004", "20", "M8000000", "", "8901"),
    modifier("27990005", "見本慢性", "ミホンマンセイ", "Z005", "10", "M4000000", "", "7905"),
]


def mdfy_519():
    rows = [r for r in copy.deepcopy(MDFY_518) if r[1] != "27990005"]
    rows[2][9] = "経過"                                      # 修飾語説明用ラベル added
    rows.append(modifier("27990006", "見本両側", "ミホンリョウソク", "Z006", "10", "M1000000", "ZX01",
                         "7906"))
    return rows


def idx(term, code, target, kana_kanji, synonym="0", variant="0", first="0"):
    return [term, code, target, kana_kanji, synonym, variant, first, "", ""]


INDEX_518 = [
    idx("見本性胃炎", "ZA01", "1", "1", first="1"),
    idx("ミホンセイイエン", "ZA01", "1", "2"),
    idx("見本胃炎", "ZA01", "1", "1", synonym="1"),
    idx("見本胃カタル", "ZA01", "1", "1", synonym="1"),
    idx("急性見本肝炎", "ZA02", "1", "1", first="1"),
    idx("見本１型呼吸不全", "ZA03", "1", "1"),
    idx("見本菌性髄膜炎", "ZA04", "1", "1"),
    idx("見本菌性脳膜炎", "ZA04", "1", "1", variant="1"),
    idx("見本部位骨折", "ZA05", "1", "1"),
    idx("見本物質依存", "ZA06", "1", "1"),
    idx("旧見本病", "ZA07", "1", "1"),
    idx("見本皮膚炎", "ZA08", "1", "1"),
    idx("見本未収載語", "ZZ99", "1", "1"),                   # no name carries ZZ99: a notice
    idx("見本左", "Z001", "2", "1"),
    idx("ミホンヒダリ", "Z001", "2", "2"),
    idx("見本右", "Z002", "2", "1"),
    idx("見本急性", "Z003", "2", "1"),
    idx("見本慢性", "Z005", "2", "1"),
]


def index_519():
    rows = copy.deepcopy(INDEX_518)
    rows.insert(4, idx("見本性胃腸炎", "ZA01", "1", "1", synonym="1"))  # a new synonym
    rows.append(idx("新見本病", "ZA07", "1", "1"))
    rows.append(idx("見本鼻炎", "ZA09", "1", "1"))
    rows.append(idx("見本両側", "Z006", "2", "1"))
    # 見本皮膚炎 (ZA08) and 見本慢性 (Z005) stay although their name / modifier is gone:
    # notices in 5.19
    return rows

# --------------------------------------------------------------------------- files


def quoted(rows):
    text = "".join(",".join(f'"{v}"' for v in r) + "\r\n" for r in rows)
    return text.encode("cp932")


def make_zip(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2026, 6, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0x20
            z.writestr(info, data)
    return buf.getvalue()


def release_zip(v, nmain, mdfy, index, ttl_main, title_dir, extra=()):
    base = f"byomei{v}"
    members = [
        (f"{base}/main/nmain{v}.txt", quoted(nmain)),
        (f"{base}/main/mdfy{v}.txt", quoted(mdfy)),
        (f"{base}/main/index{v}.txt", quoted(index)),
        (f"{base}/{title_dir}/ttl_main.txt", quoted([ttl_main])),
        (f"{base}/{title_dir}/ttl_mdfy.txt", quoted([TTL_MDFY])),
        (f"{base}/{title_dir}/ttl_idx.txt", quoted([TTL_IDX])),
    ] + list(extra)
    return make_zip(members)

# --------------------------------------------------------------------------- diff


def strip_icd(v):
    return "".join(c for c in v if c not in "†‡*＊+")


def records(nmain, mdfy, index):
    """Every stored row as (system, code, row_key, content, carried codes)."""
    terms = defaultdict(set)
    for r in index:
        terms[(r[2], r[1])].add((r[0],) + tuple(r[3:]))
    out = []
    for r in nmain:
        carried = [("byomei_exchange", r[5]), ("receipt_disease", r[10])]
        carried += [("icd10", strip_icd(v)) for v in (r[6], r[7]) if v]
        content = (tuple(r), tuple(sorted(terms[("1", r[5])])))
        out.append(("byomei", r[1], "byomei:" + r[1], content, carried))
    for r in mdfy:
        carried = [("modifier_exchange", r[4]), ("receipt_modifier", r[8])]
        content = (tuple(r), tuple(sorted(terms[("2", r[4])])))
        out.append(("modifier", r[1], "modifier:" + r[1], content, carried))
    return out


SYSTEMS = ["byomei", "byomei_exchange", "receipt_disease", "icd10", "modifier", "modifier_exchange",
           "receipt_modifier"]


def present(recs):
    out = defaultdict(set)
    for system, code, key, content, carried in recs:
        out[(system, code)].add((key, content))
        for s, c in carried:
            out[(s, c)].add((key, content))
    return out


def diff(old, new):
    a, b = present(old), present(new)
    result = {}
    for system in SYSTEMS:
        ka = {c for s, c in a if s == system}
        kb = {c for s, c in b if s == system}
        result[system] = {
            "added": sorted(kb - ka),
            "removed": sorted(ka - kb),
            "changed": sorted(c for c in ka & kb if a[(system, c)] != b[(system, c)]),
        }
    return result


def unmatched(nmain, mdfy, index):
    names = {r[5] for r in nmain}
    mods = {r[4] for r in mdfy}
    return [r[0] for r in index if r[1] not in (names if r[2] == "1" else mods)]


def expected_md(d, counts, notices):
    L = [
        f"# Expected diff of the synthetic 病名 samples: 5.18 → 5.19",
        "",
        "GENERATED by `python3 masters/byomei/make_samples.py`; do not edit by hand. The same lists",
        "are in `EXPECTED.json`.",
        "",
        "| release | nmain | mdfy | index | titles |",
        "|---|---|---|---|---|",
        f"| 5.18 `byomei518.zip` | {counts[0][0]} rows | {counts[0][1]} rows | {counts[0][2]} rows |"
        " `option/n_title/ttl_*.txt` (older titles: `ICD10`, `レセ電算対応表記` …) |",
        f"| 5.19 `byomei519.zip` | {counts[1][0]} rows | {counts[1][1]} rows | {counts[1][2]} rows |"
        " `option/ttl_*.txt` (current titles, `ＩＣＤ１０ー２０１３` spelt with ー) |",
        "",
        "A code is *added* / *removed* when only one release has a row defining or carrying it,",
        "*changed* when both do and the rows differ: any column, or the index terms attached to",
        "the row through its exchange code.",
        "",
        "| system | added | removed | changed |",
        "|---|---|---|---|",
    ]
    for s, v in d.items():
        L.append(f"| {s} | {len(v['added'])} | {len(v['removed'])} | {len(v['changed'])} |")
    L.append("")
    for s, v in d.items():
        L.append(f"## {s}")
        L.append("")
        for kind in ("added", "removed", "changed"):
            L.append(f"* {kind}: " + (", ".join(f"`{c}`" for c in v[kind]) or "none"))
        L.append("")
    L += [
        "## What the samples exercise",
        "",
        "* 29990002 見本胃炎 is abolished in 5.18 (移行先 29990001, same exchange code ZA01: retired)",
        "  and gone from 5.19: it stays answerable, as retired, in 5.18.",
        "* Successor chain: in 5.19 29990008 → 29990009 → 29990010 (29990009 abolished in 5.19,",
        "  29990010 new); all three share exchange code ZA07.",
        "* ICD-10 shapes: `J9690` (5th character), `A390†` / `G01*` (marks stripped for the link),",
        "  `T08-1`, `F152a` → `F152b` (the 5th-character change shows as an icd10 code removed and",
        "  one added).",
        "* Flags: 29990006 単独使用禁止区分 01, 29990007 保険請求外区分 1.",
        "* Index: 見本胃炎 (synonym) attaches to both names carrying ZA01; the new synonym",
        "  見本性胃腸炎 changes 29990001 in 5.19.",
        f"* Index terms nothing carries (notices): 5.18 {', '.join(notices[0])}; 5.19 {', '.join(notices[1])}.",
        "* Modifiers: 27990005 removed, 27990006 added (exclusion group ZX01 with 左/右), 27990003",
        "  gains a 修飾語説明用ラベル.",
        "",
    ]
    return "\n".join(L)


def main():
    n18, m18, i18 = names_518(), MDFY_518, INDEX_518
    n19, m19, i19 = names_519(n18), mdfy_519(), index_519()
    for rows, width in ((n18, 20), (n19, 20), (m18, 10), (m19, 10), (i18, 9), (i19, 9)):
        assert all(len(r) == width for r in rows)
    (HERE / f"byomei{OLD}.zip").write_bytes(
        release_zip(OLD, n18, m18, i18, TTL_MAIN_OLD, "option/n_title"))
    (HERE / f"byomei{NEW}.zip").write_bytes(
        release_zip(NEW, n19, m19, i19, TTL_MAIN_NEW, "option",
                    extra=[(f"byomei{NEW}/spc{NEW}.pdf", b"%PDF-1.4\n% placeholder, not a layout\n")]))
    d = diff(records(n18, m18, i18), records(n19, m19, i19))
    counts = [(len(n18), len(m18), len(i18)), (len(n19), len(m19), len(i19))]
    notices = [unmatched(n18, m18, i18), unmatched(n19, m19, i19)]
    (HERE / "EXPECTED.json").write_text(json.dumps(d, ensure_ascii=False, indent=2) + "\n",
                                        encoding="utf-8")
    (HERE / "EXPECTED.md").write_text(expected_md(d, counts, notices), encoding="utf-8")
    for s, v in d.items():
        print(s, {k: len(x) for k, x in v.items()})


if __name__ == "__main__":
    main()
