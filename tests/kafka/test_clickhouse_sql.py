"""test_clickhouse_sql.py - deploy/clickhouse/ against the schema.

ClickHouse cannot run here, so its three files are checked for what would
break the pipeline silently: the Kafka engine table reads ProtobufList
with kafka_schema naming the row type (xtcp_flat_record.proto:
XtcpFlatRecord, a message the proto has), and names every XtcpFlatRecord
field (ClickHouse matches columns to fields by name) with a type the
field's wire type decodes to; the MergeTree table has the same columns;
the materialized view selects every one of them from the Kafka table into
the MergeTree table.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DEPLOY = os.path.join(ROOT, "deploy", "clickhouse")
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL: " + msg, file=sys.stderr)


def proto_fields():
    text = open(os.path.join(ROOT, "proto", "xtcp_flat_record.proto")).read()
    body = text[text.index("message XtcpFlatRecord"):]
    enums = set(re.findall(r"enum\s+(\w+)\s*\{", body))
    fields = {}
    for t, n in re.findall(r"^\s*(\w+)\s+(\w+)\s*=\s*\d+\s*;", body, re.M):
        if t in enums:
            t = "enum"
        if t != "option":
            fields[n] = t
    return fields


def columns(path):
    text = open(path).read()
    text = re.sub(r"--[^\n]*", "", text)
    m = re.search(r"CREATE TABLE[^(]*\((.*?)\n\)", text, re.S)
    cols = {}
    for line in m.group(1).split(",\n"):
        parts = line.split(None, 1)
        if len(parts) == 2:
            cols[parts[0]] = parts[1].strip()
    return text, cols


# what a column may be for each protobuf type (ClickHouse's conversions)
KAFKA_TYPES = {
    "uint32": ("UInt32", "UInt64"),
    "uint64": ("UInt64",),
    "int64": ("Int64",),
    "string": ("String", "LowCardinality(String)"),
    "bytes": ("String",),
    "enum": ("UInt8", "Int8", "UInt16", "Enum8"),
}


def compatible(ptype, ctype, merge_tree):
    ctype = re.sub(r"\s*CODEC\(.*\)$", "", ctype)
    ok = KAFKA_TYPES[ptype]
    if merge_tree and ptype == "int64":
        ok = ok + ("DateTime64(9, 'UTC')",)
    return any(ctype == t or ctype.startswith(t + "(") for t in ok)


def main():
    fields = proto_fields()
    check(len(fields) > 150, "proto has %d fields?" % len(fields))
    kafka_sql, kcols = columns(os.path.join(DEPLOY,
                                            "2_xtcp_flat_records_kafka.sql"))
    mt_sql, mcols = columns(os.path.join(DEPLOY, "1_xtcp_flat_records.sql"))
    check("kafka_format = 'ProtobufList'" in kafka_sql,
          "the Kafka table does not read ProtobufList")
    check("kafka_schema = 'xtcp_flat_record.proto:XtcpFlatRecord'"
          in kafka_sql, "kafka_schema does not name the row type")
    check("ENGINE = Kafka" in kafka_sql, "not a Kafka engine table")
    for name, cols, mt in (("Kafka", kcols, False), ("MergeTree", mcols, True)):
        missing = sorted(set(fields) - set(cols))
        extra = sorted(set(cols) - set(fields))
        check(not missing, "%s table lacks %s" % (name, missing[:5]))
        check(not extra, "%s table has columns not in the proto: %s"
              % (name, extra[:5]))
        for n, t in cols.items():
            if n in fields:
                check(compatible(fields[n], t, mt),
                      "%s table: %s %s for a %s field"
                      % (name, n, t, fields[n]))
    mv = re.sub(r"--[^\n]*", "",
                open(os.path.join(DEPLOY, "3_xtcp_flat_records_mv.sql")).read())
    m = re.search(r"TO\s+(\S+)\s+AS SELECT(.*?)FROM\s+(\S+)", mv, re.S)
    check(m is not None, "the view is not CREATE ... TO ... AS SELECT")
    if m:
        check(m.group(1) == "tcpscope.xtcp_flat_records", "view's target")
        check(m.group(3) == "tcpscope.xtcp_flat_records_kafka",
              "view's source")
        out = set()
        for item in m.group(2).split(",\n"):
            item = item.strip()
            a = re.search(r"\bAS\s+(\w+)$", item)
            out.add(a.group(1) if a else item)
        check(out == set(fields), "the view selects %s"
              % sorted(out ^ set(fields))[:5])
    if failures:
        print("%d failure(s)" % len(failures), file=sys.stderr)
        sys.exit(1)
    print("ok: %d fields in the three files" % len(fields))


main()
