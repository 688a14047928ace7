"""Seeds fuzz/corpus/TARGET from the synthetic samples in masters/ (run by fuzz/run).

Inputs are laid out as fuzz/src/harness.rs reads them: for targets that replace one file
of a sample release, the first byte selects the file.
"""
import io
import json
import os
import sys
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
M = os.path.join(ROOT, "masters")


def read(*parts):
    with open(os.path.join(M, *parts), "rb") as f:
        return f.read()


def zip_members(*parts):
    with zipfile.ZipFile(io.BytesIO(read(*parts))) as z:
        return [z.read(n) for n in z.namelist() if not n.endswith("/")]


def seeds():
    hot = [read("hot/20260531/MEDIS20260531.TXT"), read("hot/20260531/MEDIS20260531_HOT9.TXT"),
           read("hot/h20260630_HOT9del.txt")]
    nursing = [read("nursing/4.0", f"{k}-ver.4.0.txt") for k in ("koui", "kansatsu", "result", "unit")]
    byomei = zip_members("byomei/byomei518.zip")
    local = "code,name,unit,specimen,frequency\nD001,ﾃｽﾀﾐﾄﾞ錠,錠,,120\nL01,中性脂肪(TG),mg/dL,血清,40\n"
    concept_map = {
        "resourceType": "ConceptMap", "status": "draft",
        "group": [{"source": "urn:oid:1.2.3", "target": "urn:oid:1.2.392.200119.4.403.1",
                   "element": [{"code": "D001", "display": "ﾃｽﾀﾐﾄﾞ錠",
                                "target": [{"code": "900309501", "equivalence": "equivalent"}]}]}],
    }
    decisions_csv = "local_code,local_name,state,target_system,target_code,equivalence\nD001,ﾃｽﾀﾐﾄﾞ錠,approved,hot9,900309501,equivalent\n"
    validate = {"items": [{"system": "hot9", "code": "900309501", "display": "ﾃｽﾀﾐﾄﾞ錠"},
                          {"system": "urn:oid:1.2.392.200119.4.403.1", "code": "x"}], "date": "2026-06-30"}
    return {
        "hot": [bytes([i]) + b for i, b in enumerate(hot)],
        "byomei": [bytes([i]) + b for i, b in enumerate(byomei)],
        "nursing": [bytes([i]) + b for i, b in enumerate(nursing)],
        "jlac_workbook": [read("jlac/902/902_matome.xlsx")] + zip_members("jlac/901/901_matome.zip"),
        "ecs_csv": [read("jlac/901/kyoyu-jlac-master.csv"), read("jlac/902/kyoyu-jlac-master.csv")],
        "zip_container": [read("hot/h20260630.zip"), read("byomei/byomei518.zip"), read("jlac/901/901_matome.zip")],
        "local_codes": [local.encode(), local.encode("cp932")],
        "decision_import": [b"\x00" + decisions_csv.encode(), b"\x01" + json.dumps(concept_map, ensure_ascii=False).encode()],
        "validate_body": [json.dumps(validate, ensure_ascii=False).encode()],
        "search_query": [q.encode() for q in ("胃炎", "ｶﾌﾟｾﾙ", "いえん", "ＨｂＡ１ｃ", "Ⅱ型", "ー", "2646901M1035", "急性 胃炎")],
    }


def main(targets):
    all_seeds = seeds()
    for t in targets:
        d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", t)
        os.makedirs(d, exist_ok=True)
        if os.listdir(d):
            continue
        for i, s in enumerate(all_seeds[t]):
            with open(os.path.join(d, f"seed-{i}"), "wb") as f:
                f.write(s)


if __name__ == "__main__":
    main(sys.argv[1:])
