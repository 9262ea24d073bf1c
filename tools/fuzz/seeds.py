"""Writes the seed corpus of a fuzz target from the golden fixtures (usage: seeds.py TARGET FOLDER)."""
import os
import re
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "AccessWireTests", "Fixtures")
# The harness picks a message type by the first byte from the contract's types, then the test-only ones
# (FuzzHarness.pick): the same order here.
CATALOGS = [
    os.path.join(ROOT, "Sources", "AccessCore", "Generated", "catalog.pb.swift"),
    os.path.join(ROOT, "Sources", "AccessWireTesting", "Generated", "catalog_testing.pb.swift"),
]
PREFACE = b"AKRP\x00\x01\x00\x00"

target, folder = sys.argv[1], sys.argv[2]
types = [name for catalog in CATALOGS for name in re.findall(r"^\s+(\w+)\.self,", open(catalog).read(), re.M)]
everything = types.index("Everything")


def fixture(name):
    return open(os.path.join(FIXTURES, name), "rb").read()


def framed(body):
    return struct.pack(">I", len(body)) + body


seeds = {}
if target == "frame":
    request, go_away = fixture("request-frame.bin"), fixture("goaway-frame.bin")
    seeds["preface-request"] = b"\x01" + PREFACE + framed(request)
    seeds["request-twice"] = b"\x00" + framed(request) + framed(request)
    seeds["goaway"] = b"\x00" + framed(go_away)
elif target == "message":
    seeds["everything"] = bytes([everything]) + fixture("everything.bin")
    for index in range(len(types)):
        seeds[f"empty-{types[index]}"] = bytes([index])
elif target == "json":
    for index in range(len(types)):
        seeds[f"empty-{types[index]}"] = bytes([index]) + b"{}"
    seeds["everything"] = bytes([everything]) + (
        b'{"int32Value": -5, "int64Value": "9007199254740993", "uint32Value": 7, "boolValue": true, '
        b'"stringValue": "\\u00e9t\\u00e9", "bytesValue": "AAEC", "repeatedString": ["a", "b"], '
        b'"stringMap": {"k": "v"}, "nested": {"name": "n"}}')
else:
    sys.exit(f"unknown target {target}")
for name, data in seeds.items():
    with open(os.path.join(folder, name), "wb") as out:
        out.write(data)
print(f"{len(seeds)} seeds for {target} in {folder}")
