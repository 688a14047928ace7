#!/usr/bin/env python3
"""Generate SYNTHETIC 看護実践用語標準マスター (HS024) sample releases for hyojun.

Every value written here is invented: 管理番号 (1299xxxx for 行為, 3199xxxx for 観察, outside
the real ranges 12000001… / 31000001…), hierarchy ids (A9xx, B9xx, C9xx), names, definitions,
unit codes (U9xx) and result groups (R9xxx, V9xxx). Nothing is copied from MEDIS data, which
may not be redistributed. Only the *layout* follows the real files: CSV with a header row
(the real header titles), no quoting, CP932, CRLF; koui 18 columns, kansatsu 46, result 3,
unit 2.

Outputs (relative to this script's folder, masters/nursing/):
  4.0/koui-ver.4.0.txt  4.0/kansatsu-ver.4.0.txt  4.0/result-ver.4.0.txt  4.0/unit-ver.4.0.txt
  4.1/koui-ver.4.1.txt  4.1/kansatsu-ver.4.1.txt  4.1/result-ver.4.1.txt  4.1/unit-ver.4.1.txt
  EXPECTED.md, EXPECTED.json   the 4.0 -> 4.1 diff, computed from the data

Usage: python3 masters/nursing/make_samples.py   (stdlib only, any cwd, deterministic).
"""

import copy
import json
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
OLD, NEW = "4.0", "4.1"

KOUI_HEADER = [
    "変更区分", "管理番号", "第１階層識別番号", "第１階層グループ名称", "第１階層の定義",
    "第２階層識別番号", "第２階層グループ名称", "第２階層の定義", "第３階層識別番号",
    "第３階層（記載例）行為名称", "第３階層の定義", "第４階層識別番号", "第４階層（記載例）修飾語",
    "第４階層の定義・説明・解説", "第３階層、第４階層の事例", "更新日付", "移行先管理番号",
    "作業用ソートkey",
]
KANSATSU_HEADER = (
    ["変更区分", "観察名称管理番号（コード）"]
    + [f"検索大分類{'１２３４５６７８'[i]}" for i in range(8)]
    + ["高度専門看護別分類", "観察名称", "名称ふりがな", "焦点", "部位", "位相", "その他", "評価基準",
       "結果管理番号", "表現タイプ", "単位"]
    + ["結果" + str(i).translate(str.maketrans("0123456789", "０１２３４５６７８９")) for i in range(1, 19)]
    + ["更新日付", "移行先観察名称管理番号", "観察名称２", "単位コード", "観察結果グループコード", "採択区分",
       "観察名称交換用コード"]
)
RESULT_HEADER = ["観察結果グループコード", "観察結果コード", "観察結果名称"]
UNIT_HEADER = ["単位コード", "単位名称"]
assert (len(KOUI_HEADER), len(KANSATSU_HEADER)) == (18, 46)

# --------------------------------------------------------------------------- 看護行為

L1 = {
    "A901": ("見本生活ケア", "見本として作った第１階層の定義。生活を支えるケア"),
    "A902": ("見本処置", "見本として作った第１階層の定義。処置に関わるケア"),
}
L2 = {
    "B901": ("見本清潔ケア", "皮膚と粘膜を清潔に保つ見本のケア"),
    "B902": ("見本移動ケア", "移動を助ける見本のケア"),
    "B903": ("見本創傷ケア", "創傷を保護する見本のケア"),
}
L3 = {
    "C901": ("見本洗浄", "身体を洗う見本の行為"),
    "C902": ("見本保湿", "皮膚を保湿する見本の行為"),
    "C903": ("見本歩行介助", "歩行を助ける見本の行為"),
    "C904": ("見本被覆材交換", "被覆材を取り替える見本の行為"),
    "C905": ("見本抜糸", "縫合糸を抜く見本の行為（旧位置）"),
    "C906": ("見本抜糸", "縫合糸を抜く見本の行為"),
}
L4 = {
    "D000": ("", ""),
    "D001": ("全介助", "すべてを介助する"),
    "D002": ("部分介助", "一部を介助する"),
    "D003": ("見守り", "そばで見守る"),
    "D004": ("遠隔見守り", "機器を用いて見守る"),
}


def koui(flag, code, l1, l2, l3, l4, date, successor="", sort="", example=""):
    return [flag, code, l1, *L1[l1], l2, *L2[l2], l3, *L3[l3], l4, *L4[l4], example, date, successor,
            sort]


def koui_40():
    return [
        koui("0", "12990001", "A901", "B901", "C901", "D000", "20201218", sort="1"),
        koui("0", "12990002", "A901", "B901", "C901", "D001", "20201218", sort="2"),
        koui("3", "12990003", "A901", "B901", "C901", "D002", "20241220", sort="3"),
        koui("0", "12990004", "A901", "B901", "C902", "D000", "20201218", sort="4"),
        koui("5", "12990005", "A901", "B902", "C903", "D000", "20241220", sort="5",
             example="廊下を見本として歩く"),
        koui("0", "12990006", "A901", "B902", "C903", "D003", "20201218", sort="6"),
        # deleted earlier, still listed, with its successor; the same 管理番号 again on a row
        # flagged 7 (管理番号の移行元)
        koui("2", "12990007", "A902", "B903", "C904", "D001", "20221216", "12990008", sort="7"),
        koui("7", "12990007", "A902", "B903", "C904", "D001", "20221216", "12990008", sort="8"),
        koui("0", "12990008", "A902", "B903", "C904", "D000", "20201218", sort="9"),
        # a 管理番号 that moved within the hierarchy: its old position is a row flagged 7
        # whose 移行先 is its own number
        koui("0", "12990009", "A902", "B903", "C906", "D000", "20241220", sort="10"),
        koui("7", "12990009", "A902", "B903", "C905", "D000", "20241220", "12990009", sort="11"),
    ]


def koui_41(old):
    rows = copy.deepcopy(old)
    by = {(r[0], r[1]): r for r in rows}
    by[("3", "12990003")][0] = "0"                      # 新規 -> 継承
    r = by[("5", "12990005")]
    r[0], r[14], r[15] = "0", "廊下と階段を見本として歩く", "20251219"  # example text changed
    r = by[("0", "12990006")]
    r[0], r[15], r[16] = "1", "20251219", "12990010"     # 今版削除, successor 12990010
    # long-deleted 12990007 purged from the file (both of its rows)
    rows = [r for r in rows if r[1] != "12990007"]
    rows.append(koui("3", "12990010", "A901", "B902", "C903", "D004", "20251219", sort="12"))
    return rows

# --------------------------------------------------------------------------- 看護観察


def kansatsu(flag, code, name, kana, vtype, *, unit="", unit_code="", group="", results=(),
             date="20201218", successor="", search="1,0,0,0,0,0,0,0", focus=""):
    res = list(results) + [""] * (18 - len(results))
    return ([flag, code] + search.split(",") + ["T00", name, kana, focus or name, "", "", "", "",
                                                 code + "R", vtype, unit] + res
            + [date, successor, name, unit_code, group, "", ""])


def kansatsu_40():
    return [
        kansatsu("0", "31990001", "見本酸素飽和度", "みほんさんそほうわど", "数値型", unit="%",
                 unit_code="U901", results=["999"]),
        kansatsu("0", "31990002", "見本便性状", "みほんべんせいじょう", "列挙型", group="R9001",
                 results=["硬", "普通", "軟"], search="0,0,1,0,0,0,0,0"),
        kansatsu("0", "31990003", "見本疼痛段階", "みほんとうつうだんかい", "列挙型", group="R9002",
                 results=["なし", "軽度", "中等度", "高度"]),
        kansatsu("1", "31990004", "見本旧体温", "みほんきゅうたいおん", "数値型", unit="℃",
                 unit_code="U902", results=["99.9"], date="20241220", successor="31990005"),
        kansatsu("3", "31990005", "見本体温", "みほんたいおん", "数値型", unit="℃", unit_code="U902",
                 results=["99.9"], date="20241220"),
        # references a result group the result file does not have (as real V-series rows do)
        kansatsu("0", "31990006", "見本皮膚所見", "みほんひふしょけん", "列挙型", group="V9001",
                 search="0,0,0,1,0,0,0,0"),
        kansatsu("2", "31990007", "見本旧尿量", "みほんきゅうにょうりょう", "数値型", unit="ml",
                 unit_code="U903", results=["9999"], date="20221216", successor="31990008"),
        kansatsu("7", "31990007", "見本旧尿量", "みほんきゅうにょうりょう", "数値型", unit="ml",
                 unit_code="U903", results=["9999"], date="20221216", successor="31990008"),
        kansatsu("0", "31990008", "見本尿量", "みほんにょうりょう", "数値型", unit="ml",
                 unit_code="U903", results=["9999"]),
    ]


def kansatsu_41(old):
    rows = copy.deepcopy(old)
    by = {(r[0], r[1]): r for r in rows}
    r = by[("1", "31990004")]
    r[0], r[39] = "2", "20251219"                          # 今版削除 -> 既削除
    r = by[("3", "31990005")]
    r[0] = "0"                                             # 新規 -> 継承
    rows = [r for r in rows if r[1] != "31990007"]         # purged
    rows.append(kansatsu("3", "31990009", "見本血圧", "みほんけつあつ", "２数値型",
                         unit="mmHg:mmHg", unit_code="U905", results=["999", "999"],
                         date="20251219"))
    return rows


RESULTS_40 = [
    ["R9001", "01", "硬便"], ["R9001", "02", "普通便"], ["R9001", "03", "軟便"],
    ["R9002", "01", "なし"], ["R9002", "02", "軽度"], ["R9002", "03", "中等度"], ["R9002", "04", "高度"],
    ["R9003", "01", "見本未使用"],                          # used by no observation
]
UNITS_40 = [["U901", "%"], ["U902", "℃"], ["U903", "ml"], ["U904", "見本単位"]]


def results_41():
    rows = copy.deepcopy(RESULTS_40)
    rows[1][2] = "普通"                                      # R9001/02 renamed
    rows.insert(7, ["R9002", "05", "耐えがたい"])             # R9002 gains a value
    return rows


def units_41():
    rows = copy.deepcopy(UNITS_40)
    rows[2][1] = "mL"                                       # U903 renamed
    rows.append(["U905", "mmHg"])
    return rows

# --------------------------------------------------------------------------- files


def text(header, rows):
    lines = [",".join(header)] + [",".join(r) for r in rows]
    for line in lines:
        assert '"' not in line
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)

# --------------------------------------------------------------------------- diff


def records(koui_rows, kansatsu_rows, result_rows, unit_rows):
    """Every stored row as (system, code, row_key, content, 16-char code or None)."""
    groups = defaultdict(list)
    for g, c, n in result_rows:
        groups[g].append((c, n))
    units = dict(unit_rows)
    out = []
    for prefix, system, rows in (("action", "nursing_action", koui_rows),
                                 ("observation", "nursing_observation", kansatsu_rows)):
        seen = defaultdict(int)
        for r in rows:
            seen[(r[1], r[0])] += 1
            n = seen[(r[1], r[0])]
            key = f"{prefix}:{r[1]}:{r[0]}" + ("" if n == 1 else f"~{n}")
            if system == "nursing_action":
                extra = ()
                code16 = r[2] + r[5] + r[8] + r[11]
            else:
                extra = (units.get(r[42]), tuple(groups.get(r[43], ())))
                code16 = None
            out.append((system, r[1], key, tuple(r) + extra, code16))
    return out


def present(recs):
    """(system, code) -> the set of rows carrying it."""
    out = defaultdict(set)
    for system, code, key, content, code16 in recs:
        row = (key, content)
        out[(system, code)].add(row)
        if code16:
            out[("nursing_action16", code16)].add(row)
    return out


def diff(old, new):
    a, b = present(old), present(new)
    result = {}
    for system in ("nursing_action", "nursing_action16", "nursing_observation"):
        ka = {c for s, c in a if s == system}
        kb = {c for s, c in b if s == system}
        result[system] = {
            "added": sorted(kb - ka),
            "removed": sorted(ka - kb),
            "changed": sorted(c for c in ka & kb if a[(system, c)] != b[(system, c)]),
        }
    return result


def expected_md(d, counts):
    L = [
        f"# Expected diff of the synthetic nursing samples: {OLD} → {NEW}",
        "",
        "GENERATED by `python3 masters/nursing/make_samples.py`; do not edit by hand. The same lists",
        "are in `EXPECTED.json`.",
        "",
        "| release | koui | kansatsu | result | unit |",
        "|---|---|---|---|---|",
    ]
    for label, c in counts.items():
        L.append(f"| {label} | {c[0]} rows | {c[1]} rows | {c[2]} rows | {c[3]} rows |")
    L += [
        "",
        "A code is *added* / *removed* when only one release has a row carrying it, *changed* when",
        "both do and the rows differ (any column, the row's identity, or — for observations — the",
        "unit name and result values attached from the unit and result files).",
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
        "* 4.0: rows flagged 0, 2, 3, 5 and 7; 12990007 / 31990007 appear twice (flag 2 and flag 7)",
        "  with 移行先 12990008 / 31990008; 12990009 moved within the hierarchy (its old position is",
        "  a row flagged 7 whose 移行先 is itself: no successor link); 31990004 flagged 1 with",
        "  移行先 31990005; 31990006 references result group V9001, absent from the result file",
        "  (a notice); result group R9003 and unit U904 are used by no observation (notices).",
        "* 4.1: 12990006 deleted (flag 1) with 移行先 12990010, which is new; 12990007 and 31990007",
        "  purged (removed, with the 16-character code A902B903C904D001); flags 3 → 0 and 1 → 2;",
        "  result R9001/02 renamed, R9002 gains 05, unit U903 renamed (the observations using them",
        "  change); 31990009 new (２数値型, unit U905).",
        "",
    ]
    return "\n".join(L)


def main():
    k40, s40 = koui_40(), kansatsu_40()
    k41, s41 = koui_41(k40), kansatsu_41(s40)
    r41, u41 = results_41(), units_41()
    releases = {OLD: (k40, s40, RESULTS_40, UNITS_40), NEW: (k41, s41, r41, u41)}
    for label, (k, s, r, u) in releases.items():
        assert all(len(x) == 18 for x in k) and all(len(x) == 46 for x in s)
        write(HERE / label / f"koui-ver.{label}.txt", text(KOUI_HEADER, k))
        write(HERE / label / f"kansatsu-ver.{label}.txt", text(KANSATSU_HEADER, s))
        write(HERE / label / f"result-ver.{label}.txt", text(RESULT_HEADER, r))
        write(HERE / label / f"unit-ver.{label}.txt", text(UNIT_HEADER, u))
    d = diff(records(*releases[OLD]), records(*releases[NEW]))
    counts = {label: tuple(len(x) for x in v) for label, v in releases.items()}
    (HERE / "EXPECTED.json").write_text(json.dumps(d, ensure_ascii=False, indent=2) + "\n",
                                        encoding="utf-8")
    (HERE / "EXPECTED.md").write_text(expected_md(d, counts), encoding="utf-8")
    for s, v in d.items():
        print(s, {k: len(x) for k, x in v.items()})


if __name__ == "__main__":
    main()
