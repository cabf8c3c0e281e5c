"""1. Malformed input: more than 10,000 bad requests of 15 kinds on /a2a/{agent} and /api/v1/* (invalid JSON, invalid
UTF-8, wrong types, duplicate keys, 10,000-deep nesting, huge arrays, empty and huge JSON-RPC batches, unknown
methods, missing jsonrpc/id, oversized body and headers, wrong Content-Type, Content-Length/Transfer-Encoding
conflicts, invalid header bytes, malformed signature headers), made by seeded mutation of valid requests and sent over
raw sockets (keep-alive where the framing allows). Every answer must be < 500 and of the right shape: a JSON-RPC error
from the relay, ProblemDetails from the admin API and from the HTTP layer before the relay (authentication), or
Kestrel's own bodiless 400/413/414/431 for malformed HTTP; no stack trace anywhere; the hub process stays the same,
keeps answering /healthz, and its RSS stays within start + 200 MB.

With AGENTHUB_SECURITY_WRITE_CORPUS=1 the check also writes a few seeds of each kind to
tests/AgentHub.Tests/Web/MalformedCorpus/ (replayed by the xunit test Web/MalformedCorpusTests).
"""
from __future__ import annotations

import collections
import concurrent.futures
import http.client
import json
import os
import random
import re
import select
import shutil
import socket
import threading
import time

from harness import ROOT, Row, rss_mb

SEED = 20261202
RSS_BOUND_MB = 200            # the hub's RSS may grow by at most this much over the run
WORKERS = 8
READ_TIMEOUT = 15.0           # an answer slower than this is a hang
CORPUS = ROOT / "tests/AgentHub.Tests/Web/MalformedCorpus"
CORPUS_PER_KIND = 24

A2A_SEEDS = [
    {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {
        "messageId": "m-1", "role": "ROLE_USER", "parts": [{"text": "hello"}]}}},
    {"jsonrpc": "2.0", "id": "req-2", "method": "GetTask", "params": {"id": "task-1", "historyLength": 2}},
    {"jsonrpc": "2.0", "id": 3, "method": "ListTasks", "params": {"pageSize": 5}},
    {"jsonrpc": "2.0", "id": 4, "method": "CancelTask", "params": {"id": "task-2"}},
    {"jsonrpc": "2.0", "id": 5, "method": "CreateTaskPushNotificationConfig", "params": {
        "taskId": "task-3", "config": {"url": "https://hooks.example.com/a2a", "token": "t"}}},
    {"jsonrpc": "2.0", "id": 6, "method": "SendStreamingMessage", "params": {"message": {
        "messageId": "m-6", "role": "ROLE_USER", "parts": [{"text": "stream"}], "taskId": "task-4"}}},
]


def api_seeds(upstream: str) -> dict[str, list[dict]]:
    return {
        "/api/v1/keys": [{"principal": "user:fuzz", "role": "operator", "name": "fuzz"},
                         {"principal": "user:fuzz-b", "role": "auditor", "expiresAt": "2999-01-01T00:00:00Z"}],
        "/api/v1/agents": [{"id": "fuzz-agent", "card": {
            "name": "Fuzz", "description": "fuzz", "version": "1.0.0",
            "supportedInterfaces": [{"url": upstream, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
            "capabilities": {}, "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
            "skills": [{"id": "s", "name": "S", "description": "d", "tags": ["t"]}]}}],
        "/api/v1/policies": [{"caller": "agent:caller", "agent": "target", "methods": ["GetTask"], "effect": "deny"}],
        "/api/v1/policies/explain": [{"caller": "agent:caller", "agent": "target", "method": "SendMessage"}],
    }


# ---------------------------------------------------------------------------------------------------------------------
# Cases: what to send and what an answer to it must look like


class Case:
    __slots__ = ("kind", "target", "path", "method", "headers", "body", "raw", "fresh", "half_close", "answer")

    def __init__(self, kind: str, target: str, path: str, body: bytes = b"", headers: list | None = None,
                 method: str = "POST", raw: bytes | None = None, fresh: bool = False, half_close: bool = False):
        # target: a2a (agent key, allowed), a2a-anon (no key), a2a-badkey, api (admin key)
        self.kind, self.target, self.path, self.method = kind, target, path, method
        self.headers, self.body, self.raw, self.fresh = headers, body, raw, fresh or raw is not None or half_close
        self.half_close = half_close  # less body than announced: the client half-closes after sending it
        self.answer: tuple | None = None

    def wire(self, keys: dict[str, str | None]) -> bytes:
        """The request's bytes; {{KEY}} stands for the target's key, as in the corpus files."""
        return self.template().replace(b"{{KEY}}", (keys[self.target] or "").encode())

    def template(self) -> bytes:
        if self.raw is not None:
            return self.raw
        headers = self.headers if self.headers is not None else [("Content-Type", "application/json")]
        lines = [f"{self.method} {self.path} HTTP/1.1".encode(), b"Host: 127.0.0.1"]
        if self.target != "a2a-anon":
            lines.append(b"Authorization: Bearer {{KEY}}")
        if self.target.startswith("a2a") and not any(n.lower() == "a2a-version" for n, _ in headers):
            lines.append(b"A2A-Version: 1.0")
        for name, value in headers:
            lines.append(_b(name) + b": " + _b(value))
        if not any(n.lower() in ("content-length", "transfer-encoding") for n, _ in headers):
            lines.append(b"Content-Length: " + str(len(self.body)).encode())
        if self.fresh:
            lines.append(b"Connection: close")
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


def _b(v) -> bytes:
    return v if isinstance(v, bytes) else str(v).encode("latin-1")


def dumps(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def paths_of(value, prefix=()):
    """Every path to a value inside a JSON value (object members and array items)."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths_of(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths_of(v, prefix + (i,))


def replaced(value, path, new):
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    node = copy
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = new
    return copy


def wrong_value(rnd: random.Random, old):
    choices = [0, -1, 1.5, 1e300, True, False, None, "", "x", [], [1, "a"], {}, {"a": 1}, "0" * 300,
               2 ** 70, -(2 ** 63), "2.0", "\u0000", " ", [None], {"": {}}]
    while True:
        v = rnd.choice(choices)
        if type(v) is not type(old) or v == "" and old != "":
            return v


class Generator:
    def __init__(self, seed: int, upstream: str):
        self.rnd = random.Random(seed)
        self.api = api_seeds(upstream)
        self.cases: list[Case] = []

    # targets of body-level cases: mostly the relay with an allowed caller, some without or with a bad key, and
    # every admin API endpoint that takes a body
    def targets(self):
        r = self.rnd.random()
        if r < 0.50:
            return "a2a", "/a2a/target", self.rnd.choice(A2A_SEEDS)
        if r < 0.56:
            return "a2a-anon", "/a2a/target", self.rnd.choice(A2A_SEEDS)
        if r < 0.60:
            return "a2a-badkey", "/a2a/target", self.rnd.choice(A2A_SEEDS)
        path = self.rnd.choice(list(self.api))
        return "api", path, self.rnd.choice(self.api[path])

    def add(self, kind, count, make):
        for _ in range(count):
            target, path, seed = self.targets()
            made = make(target, path, seed)
            if isinstance(made, Case):
                self.cases.append(made)
            else:
                self.cases.append(Case(kind, target, path, made))

    def build(self) -> list[Case]:
        rnd = self.rnd
        self.add("invalid-json", 1500, lambda t, p, s: self.invalid_json(dumps(s)))
        self.add("invalid-utf8", 1000, lambda t, p, s: self.invalid_utf8(dumps(s)))
        self.add("wrong-types", 1500, lambda t, p, s: dumps(self.wrong_types(s)))
        self.add("duplicate-keys", 900, lambda t, p, s: self.duplicate_keys(s))
        self.add("deep-nesting", 500, lambda t, p, s: self.deep(s))
        self.add("huge-arrays", 240, lambda t, p, s: self.huge(s))
        self.add("unknown-method", 800, lambda t, p, s: dumps({**s, "method": self.unknown_method()}) if "method" in s
                 else dumps({**s, rnd.choice(list(s)): self.unknown_method()}))
        self.add("missing-envelope-fields", 1000, lambda t, p, s: dumps(self.missing(s)))
        self.batches()
        self.add("wrong-content-type", 700, lambda t, p, s: Case("wrong-content-type", t, p, dumps(s), headers=[
            ("Content-Type", ct) for ct in [rnd.choice(CONTENT_TYPES)] if ct is not None]))
        self.add("malformed-signature-headers", 600, lambda t, p, s: Case(
            "malformed-signature-headers", t, p, dumps(s), headers=[("Content-Type", "application/json"), *self.signature_headers()]))
        self.oversized_bodies()
        self.oversized_headers()
        self.framing()
        self.header_bytes()
        rnd.shuffle(self.cases)
        return self.cases

    def invalid_json(self, b: bytes) -> bytes:
        rnd = self.rnd
        op = rnd.randrange(10)
        i = rnd.randrange(len(b))
        if op == 0:
            return b[:i]                                         # truncated
        if op == 1:
            return b[:i] + b[i + 1:]                             # a byte dropped
        if op == 2:
            return b[:i] + bytes([rnd.choice(b'{}[]:,"\\\' tfn-+.eE0')]) + b[i:]
        if op == 3:
            return b[:i] + bytes([rnd.randrange(256)]) + b[i + 1:]
        if op == 4:
            return b + rnd.choice([b" x", b"}", b",", b"{}", b"\x00", b"//c", b" 1"])
        if op == 5:
            return b.replace(b'"', b"'", rnd.randrange(1, 6))
        if op == 6:
            return b[:-1] + b",}"                                 # trailing comma
        if op == 7:
            return rnd.choice([b"", b" ", b"null", b"nul", b"{", b"}", b"[", b"\"", b"NaN", b"Infinity", b"-",
                               b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"SendMessage\",\"params\":{\"x\":NaN}}",
                               b"/* c */{}", b"\xef\xbb\xbf\xef\xbb\xbf{}", b"{\"a\":1}{\"b\":2}", b"0x10", b"01"])
        if op == 8:
            return b.replace(b":", b"=", 1)
        return b[:i] + b"\\u12" + b[i:]

    def invalid_utf8(self, b: bytes) -> bytes:
        rnd = self.rnd
        bad = rnd.choice([b"\xff", b"\xfe", b"\xc0\x80", b"\xc1\xbf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xe2\x82",
                          b"\xf0\x9f\x98", b"\xf8\x88\x80\x80\x80", b"\x80", b"\xbf", b"\xf4\x90\x80\x80"])
        strings = [m.start() + 1 for m in re.finditer(rb'"[^"]', b)]
        op = rnd.randrange(4)
        if op == 0 and strings:
            i = rnd.choice(strings)                              # inside a string
            return b[:i] + bad + b[i:]
        if op == 1:                                              # a lone surrogate, as a JSON escape
            i = rnd.choice(strings) if strings else 1
            return b[:i] + rnd.choice([b"\\ud800", b"\\udfff", b"\\ud83d", b"\\udc00\\ud800"]) + b[i:]
        if op == 2:
            i = rnd.randrange(len(b))
            return b[:i] + bad + b[i:]                           # anywhere
        return b.decode().encode("utf-16-le") if rnd.random() < 0.5 else b.decode().encode("utf-32")

    def wrong_types(self, seed):
        paths = list(paths_of(seed))
        path = self.rnd.choice(paths)
        old = seed
        for p in path:
            old = old[p]
        return replaced(seed, path, wrong_value(self.rnd, old))

    def duplicate_keys(self, seed) -> bytes:
        rnd = self.rnd
        objects = [p for p in paths_of(seed) if isinstance(_at(seed, p), dict) and _at(seed, p)]
        path = rnd.choice(objects)
        obj = _at(seed, path)
        key = rnd.choice(list(obj))
        other = wrong_value(rnd, obj[key]) if rnd.random() < 0.5 else rnd.choice(
            ["GetTask", "admin", "2.0", "*", "allow", 7, "agent:other", "task-9"])
        marker = {"__dup__": 1}
        doc = dumps(replaced(seed, path, {**obj, "__dup__": 1}) if path else {**seed, "__dup__": 1})
        del marker
        dup = b'"' + key.encode() + b'":' + dumps(other)
        if rnd.random() < 0.5:                                   # the duplicate after or before the original
            return doc.replace(b'"__dup__":1', dup, 1)
        doc = doc.replace(b',"__dup__":1', b"", 1)
        ob = dumps(obj)[1:-1]
        return doc.replace(ob, dup + b"," + ob, 1)

    def deep(self, seed) -> bytes:
        rnd = self.rnd
        depth = rnd.choice([65, 100, 1000, 10_000, 10_000, 10_000])
        opener, closer = rnd.choice([(b"[", b"]"), (b'{"a":', b"}")])
        nest = opener * depth + b"1" + closer * depth
        op = rnd.randrange(4)
        if op == 0:
            return nest
        if op == 1:
            return opener * depth                                # never closed
        doc = dumps({**seed, "deep": "@@"}) if op == 2 else dumps(replaced(seed, rnd.choice(list(paths_of(seed))[1:]), "@@"))
        return doc.replace(b'"@@"', nest, 1)

    def huge(self, seed) -> bytes:
        rnd = self.rnd
        n = rnd.choice([10_000, 50_000, 100_000])
        item = rnd.choice([b"0", b"\"a\"", b"{}", b"[]", b"null", b"\"SendMessage\""])
        arr = b"[" + (item + b",") * (n - 1) + item + b"]"
        if rnd.random() < 0.1:
            arr = b"9" * rnd.choice([1000, 100_000])             # a huge number instead
        doc = dumps(replaced(seed, rnd.choice(list(paths_of(seed))[1:]), "@@"))
        return doc.replace(b'"@@"', arr, 1)

    def unknown_method(self):
        rnd = self.rnd
        return rnd.choice([
            "", " ", "sendmessage", "SENDMESSAGE", "SendMessage ", " SendMessage", "message/send", "tasks/get",
            "tasks/cancel", "rpc.discover", "SendMessage\u0000", "Send\u00adMessage", "\u0053endMessage\u200b",
            "x" * rnd.choice([1, 100, 10_000]), "GetTask/../SendMessage", "../../admin", "%53endMessage",
            "".join(rnd.choice("abcXYZ_/.$0 é中😀") for _ in range(rnd.randrange(1, 40))), "__proto__", "constructor",
        ])

    def missing(self, seed):
        rnd = self.rnd
        s = json.loads(json.dumps(seed))
        op = rnd.randrange(6)
        if "jsonrpc" in s:
            if op == 0:
                s.pop("jsonrpc")
            elif op == 1:
                s.pop("id")
            elif op == 2:
                s.pop("method")
            elif op == 3:
                s["jsonrpc"] = rnd.choice(["1.0", "2", 2.0, 2, None, "2.0 ", "", ["2.0"]])
            elif op == 4:
                s["id"] = rnd.choice([None, True, {}, [], 1e400 if False else 1e308, {"a": 1}, [1]])
            else:
                for k in rnd.sample(list(s), rnd.randrange(1, len(s) + 1)):
                    s.pop(k)
            return s
        for k in rnd.sample(list(s), rnd.randrange(1, len(s) + 1)):
            s.pop(k)
        return s if op else (None if rnd.random() < 0.5 else [])

    def batches(self):
        rnd = self.rnd
        for i in range(500):
            target, path, seed = self.targets()
            n = rnd.choice([0, 0, 1, 2, 10, 100, 1000, 2000])
            items = [dumps({**rnd.choice(A2A_SEEDS), "id": j}) if "jsonrpc" in seed else dumps(seed) for j in range(min(n, 10))]
            body = b"[" + b",".join(items * (n // max(1, len(items)))) + b"]"
            if i % 7 == 0:
                body = rnd.choice([b"[[]]", b"[1,2,3]", b"[null]", b"[{}]", b"[" * 3 + b"]" * 3, b"[\"SendMessage\"]"])
            self.cases.append(Case("json-rpc-batches", target, path, body))

    def signature_headers(self):
        rnd = self.rnd
        inputs = ['sig1=("@method" "@path");keyid="k";created=1', 'sig1=', '=', 'sig1=("@method"', 'sig1=(@method)',
                  'SIG=()', 'sig1=();created=99999999999999999', 'sig1=();created=1.5', 'sig1=();keyid=k',
                  'sig1=("a" "b";x=?2)', 'sig1=:AAA:', 'a=1,' * 2000 + 'b=2', 'sig1=("@method");alg="rsa-v1_5-sha256"',
                  'sig1=(' + '"x" ' * 5000 + ')', 'sig1=("content-digest");keyid="' + "k" * 5000 + '"', 'é=1',
                  'sig1=();nonce="\x01"', 'sig1=();expires=-1;created=-99999999999999', ' sig1=()', 'sig1=()  ,',
                  'sig1=("@query-param";name="\\x")']
        sigs = ['sig1=:AAAA:', 'sig1=:@@:', 'sig1=', 'sig1=:' + "A" * 20000 + ':', 'sig1=?1', 'sig1=:YWJj', ':x:',
                'sig1=:AAAA:, sig1=:BBBB:', 'sig2=:AAAA:']
        digests = ['sha-256=:AAAA:', 'sha-256=x', 'sha-512=:' + "A" * 10 + ':', 'md5=:AAAA:', '=', 'sha-256=:???:']
        headers = []
        if rnd.random() < 0.8:
            headers.append(("Signature-Input", rnd.choice(inputs)))
        if rnd.random() < 0.8:
            headers.append(("Signature", rnd.choice(sigs)))
        if rnd.random() < 0.5:
            headers.append(("Content-Digest", rnd.choice(digests)))
        return headers

    def oversized_bodies(self):
        rnd = self.rnd
        for i in range(40):
            target, path, seed = self.targets()
            limit = 4 * 1024 * 1024 if target.startswith("a2a") else 1024 * 1024
            op = i % 4
            if op == 0:                                          # really sent, just over the limit
                pad = b"x" * (limit + 1 - len(dumps(seed)))
                body = dumps({**seed, "pad": "@@"}).replace(b"@@", pad)
                self.cases.append(Case("oversized-body", target, path, body, fresh=True))
            elif op == 1:                                        # a huge Content-Length, little sent
                self.cases.append(Case("oversized-body", target, path, dumps(seed), fresh=True, headers=[
                    ("Content-Type", "application/json"), ("Content-Length", str(rnd.choice([limit + 1, 10 ** 12, 2 ** 63 - 1])))]))
            elif op == 2:                                        # chunked past the limit
                chunk = b"x" * 65536
                body = b"".join(b"10000\r\n" + chunk + b"\r\n" for _ in range(limit // 65536 + 2)) + b"0\r\n\r\n"
                self.cases.append(Case("oversized-body", target, path, body, fresh=True, headers=[
                    ("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")]))
            else:                                                # Content-Length beyond any integer
                self.cases.append(Case("oversized-body", target, path, dumps(seed), fresh=True, headers=[
                    ("Content-Type", "application/json"), ("Content-Length", "9" * 40)]))

    def oversized_headers(self):
        rnd = self.rnd
        for i in range(160):
            target, path, seed = self.targets()
            op = i % 5
            if op == 0:
                headers = [("Content-Type", "application/json"), ("X-Big", "v" * rnd.choice([33_000, 64_000, 200_000]))]
            elif op == 1:
                headers = [("Content-Type", "application/json")] + [(f"X-H{j}", "v") for j in range(rnd.choice([65, 100, 1000]))]
            elif op == 2:
                headers = [("Content-Type", "application/json"), ("Authorization", "Bearer " + "k" * rnd.choice([5000, 30_000, 40_000]))]
            elif op == 3:
                headers = [("Content-Type", "application/json"), ("Cookie", "; ".join(f"c{j}={'x' * 40}" for j in range(900)))]
            else:
                self.cases.append(Case("oversized-headers", target, path + "?" + "q" * rnd.choice([9000, 40_000]), dumps(seed), fresh=True))
                continue
            self.cases.append(Case("oversized-headers", target, path, dumps(seed), headers=headers, fresh=True))

    def framing(self):
        """Content-Length and Transfer-Encoding in conflict, or wrong: raw requests on their own connections."""
        rnd = self.rnd
        for i in range(400):
            target, path, seed = self.targets()
            body = dumps(seed)
            chunked = hex(len(body))[2:].encode() + b"\r\n" + body + b"\r\n0\r\n\r\n"
            variants = [
                ([("Content-Length", str(len(body))), ("Transfer-Encoding", "chunked")], chunked),
                ([("Transfer-Encoding", "chunked"), ("Content-Length", "5")], chunked),
                ([("Content-Length", str(len(body))), ("Content-Length", str(len(body) + 1))], body),
                ([("Content-Length", f"{len(body)}, {len(body)}")], body),
                ([("Content-Length", "-1")], body),
                ([("Content-Length", "abc")], body),
                ([("Content-Length", f" {len(body)} x")], body),
                ([("Content-Length", "+" + str(len(body)))], body),
                ([("Transfer-Encoding", "gzip")], body),
                ([("Transfer-Encoding", "chunked, gzip")], chunked),
                ([("Transfer-Encoding", "gzip, chunked")], chunked),
                ([("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")], chunked),
                ([("Transfer-Encoding", "xchunked")], body),
                ([("Transfer-Encoding", " chunked")], chunked),
                ([("Transfer-Encoding", "chunked")], b"zz\r\n" + body + b"\r\n0\r\n\r\n"),
                ([("Transfer-Encoding", "chunked")], b"ffffffffffffffffff\r\n" + body + b"\r\n0\r\n\r\n"),
                ([("Transfer-Encoding", "chunked")], b"5\r\n" + body + b"\r\n0\r\n\r\n"),
                ([("Transfer-Encoding", "chunked")], hex(len(body))[2:].encode() + b";ext=\x01\r\n" + body + b"\r\n0\r\n\r\n"),
                ([("Transfer-Encoding", "chunked")], chunked[:-5] + b"\r\n"),
                ([("Content-Length", "0")], b""),
                ([("Content-Length", str(len(body) + 10))], body),    # shorter than announced, then the client half-closes
            ]
            headers, sent = variants[i % len(variants)]
            short = headers[-1][0] == "Content-Length" and headers[-1][1].isdigit() and int(headers[-1][1]) > len(sent)
            self.cases.append(Case("content-length-transfer-encoding", target, path, sent, fresh=True, half_close=short,
                                   headers=[("Content-Type", "application/json"), *headers]))

    def header_bytes(self):
        """Invalid bytes in the request line and header fields."""
        rnd = self.rnd
        for i in range(300):
            target, path, seed = self.targets()
            body = dumps(seed)
            variants = [
                [("X-Ctl", b"a\x00b")], [("X-Ctl", b"a\x7fb")], [("X-Bad Name", "v")], [(b"X-\xffName", "v")],
                [("X-Val", b"\xff\xfe")], [("X-Val", b"a\rb")], [("X-Fold", b"a\r\n b")], [(b"X-Colon ", "v")],
                [("", "v")], [("A2A-Version", b"1.\x000")], [("Authorization", b"Bearer \x01\x02")],
                [("Content-Type", b"application/json\x00")], [(b"Host", b"a b")],
            ]
            headers = [("Content-Type", "application/json"), *variants[i % len(variants)]]
            if i % 13 == 12:
                headers = [h for h in headers if h[0] != "Content-Type"]
            case = Case("invalid-header-bytes", target, path, body, headers=headers, fresh=True)
            if i % 5 == 4:                                       # the request line itself
                line = rnd.choice([b"POST /a2a/target\x00 HTTP/1.1", b"POST /a2a/ta rget HTTP/1.1", b"PO\x01ST /a2a/target HTTP/1.1",
                                   b"POST  /a2a/target HTTP/1.1", b"POST /a2a/target HTTP/1.1 x", b"POST /a2a/%ZZ HTTP/1.1",
                                   b"POST /api/v1/\xff HTTP/1.1", b"POST http://[::1 HTTP/1.1", b"POST * HTTP/1.1"])
                if target == "api":
                    line = line.replace(b"/a2a/target", path.encode())
                wire = case.template()
                case.raw = line + wire[wire.index(b"\r\n"):]
            self.cases.append(case)


CONTENT_TYPES = [None, "text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
                 "application/json; charset=utf-16", "application/json; charset=latin1", "application/jsonx", "json",
                 "application/json, text/plain", "*/*", "application/octet-stream", "text/json", "application/",
                 "application/json;;;", "APPLICATION/XML", "image/png", ""]


def _at(value, path):
    for p in path:
        value = value[p]
    return value


# ---------------------------------------------------------------------------------------------------------------------
# Sending and reading


class Conn:
    def __init__(self, port: int):
        self.port, self.sock = port, None

    def send(self, data: bytes, fresh: bool, half_close: bool) -> tuple[int | None, dict, bytes, str]:
        """(status, headers, body, note); status None: the server closed without an answer."""
        answer = self._send(data, fresh, half_close, wait_after_head=0)
        if answer[0] is None and answer[3] != "timeout" and fresh:
            # Refused at the head: the server answered and closed while the body was still coming, and the reset that
            # unread bytes cause can drop its answer. Again, the body only once it has had time to answer.
            answer = self._send(data, fresh, half_close, wait_after_head=2.0)
        return answer

    def _send(self, data: bytes, fresh: bool, half_close: bool, wait_after_head: float):
        if fresh or self.sock is None:
            self.close()
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=READ_TIMEOUT)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = self.sock
        try:
            if wait_after_head:
                cut = data.index(b"\r\n\r\n") + 4
                sock.sendall(data[:cut])
                if not select.select([sock], [], [], wait_after_head)[0]:
                    sock.sendall(data[cut:])
            else:
                sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused before the whole request was in; its answer (if any) is still read
        if half_close:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        r = http.client.HTTPResponse(sock, method="POST")
        try:
            r.begin()
            body = r.read()
        except socket.timeout:
            self.close()
            return None, {}, b"", "timeout"
        except (http.client.RemoteDisconnected, ConnectionResetError, http.client.IncompleteRead, BrokenPipeError) as e:
            self.close()
            return None, {}, b"", type(e).__name__
        headers = {k.lower(): v for k, v in r.getheaders()}
        if fresh or r.will_close:
            self.close()
        return r.status, headers, body, ""

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None


LEAKS = (b"   at ", b"Exception", b"System.", b"Microsoft.", b"AgentHub.")
KESTREL_STATUSES = (400, 413, 414, 431)


def judge(case: Case, status, headers, body: bytes, note: str) -> tuple[str, str]:
    """(class, problem or ''): what kind of answer this is, and what is wrong with it if anything."""
    if status is None:
        if case.half_close and note != "timeout":
            return "client-left", ""  # less body than announced, then FIN: Kestrel ends the request, nobody to answer
        return "no-answer", f"no answer ({note})"
    if status >= 500:
        return "5xx", f"HTTP {status}"
    for leak in LEAKS:
        if leak in body:
            return "leak", f"body contains {leak!r}"
    ctype = headers.get("content-type", "").split(";")[0].strip()
    if not body:
        if status in KESTREL_STATUSES or status == 405 and b" * HTTP/1.1" in case.template()[:200]:
            return "kestrel", ""  # malformed HTTP refused by Kestrel before the hub runs (405: '*' is for OPTIONS)
        return "empty", f"HTTP {status} with an empty body"
    if ctype == "text/event-stream" and case.target.startswith("a2a") and status == 200:
        events = [e for e in body.split(b"\n\n") if e.strip()]
        try:
            docs = [json.loads(e[len(b"data:"):], parse_int=lambda s: int(s) if len(s) < 1000 else 0)
                    for e in events if e.startswith(b"data:")]
        except ValueError:
            return "bad-shape", "an event that is not JSON"
        if docs and len(docs) == len(events) and all(isinstance(d, dict) and d.get("jsonrpc") == "2.0" for d in docs):
            if case.kind == "wrong-content-type":
                return "bad-shape", "a body not sent as application/json was relayed to the agent"
            return "forwarded", ""
        return "bad-shape", "an event stream of other than JSON-RPC events"
    try:
        doc = json.loads(body, parse_int=lambda s: int(s) if len(s) < 1000 else 0)  # ids may be any JSON number
    except ValueError:
        return "not-json", f"HTTP {status} {ctype}: not JSON"
    if ctype == "application/problem+json":
        if isinstance(doc, dict) and doc.get("status") == status and isinstance(doc.get("title"), str):
            if case.target.startswith("a2a") and status not in (401, 429):
                return "problem-on-a2a", f"HTTP {status} ProblemDetails from the relay"
            return "problem", ""
        return "bad-problem", f"HTTP {status} ProblemDetails without status/title"
    if case.target == "api":
        if 200 <= status < 300:
            return "accepted", ""
        return "bad-shape", f"HTTP {status} {ctype} not ProblemDetails"
    if ctype != "application/json" or not isinstance(doc, dict) or doc.get("jsonrpc") != "2.0" or "id" not in doc:
        return "bad-shape", f"HTTP {status} {ctype}: not a JSON-RPC response"
    if "result" in doc and status == 200:
        if case.kind == "wrong-content-type":
            return "bad-shape", "a body not sent as application/json was relayed to the agent"
        return "forwarded", ""
    err = doc.get("error")
    if isinstance(err, dict) and type(err.get("code")) is int and isinstance(err.get("message"), str):
        return "rpc-error", ""
    return "bad-shape", f"HTTP {status}: JSON-RPC without a proper error object"


# ---------------------------------------------------------------------------------------------------------------------


_CASES: dict[str, list[Case]] = {}  # the cases of this run, made once for both databases


def run(ctx):
    dbs = list(ctx.dbs)
    first = dbs[0] if dbs else "sqlite"
    yield from campaign(ctx, first, full=True)
    for db in dbs[1:]:
        yield from campaign(ctx, db, full=False)


def campaign(ctx, db: str, full: bool):
    hub = ctx.hub(f"malformed-{db}", db, env={
        # the per-address and per-principal buckets are set high: this check is about parsing, not rate limits
        "AGENTHUB_LIMITS__ADDRESSREQUESTSPERSECOND": "1000000", "AGENTHUB_LIMITS__ADDRESSBURST": "1000000",
        "AGENTHUB_LIMITS__PRINCIPALREQUESTSPERSECOND": "1000000", "AGENTHUB_LIMITS__PRINCIPALBURST": "1000000"})
    upstream = ctx.upstream()
    caller = hub.agent("caller")
    hub.agent("target")
    hub.allow("agent:caller", "target")
    keys = {"a2a": caller, "a2a-anon": None, "a2a-badkey": "ahk_" + "0" * 16 + "_" + "x" * 43, "api": hub.admin_key}

    if upstream not in _CASES:
        _CASES.clear()
        _CASES[upstream] = Generator(SEED, upstream).build()
    cases = _CASES[upstream]
    for case in cases:
        case.answer = None
    if not full:
        cases = cases[::10]  # a tenth on the second database: parsing does not depend on it, storage paths do
    if full and os.environ.get("AGENTHUB_SECURITY_WRITE_CORPUS") == "1":
        write_corpus(cases)

    pid = hub.proc.pid
    rss = {"start": rss_mb(pid), "peak": 0.0}
    rss["peak"] = rss["start"]
    health = {"ok": 0, "failed": 0}
    stop = threading.Event()

    def monitor():
        while not stop.is_set():
            try:
                rss["peak"] = max(rss["peak"], rss_mb(pid))
                c = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
                c.request("GET", "/healthz")
                ok = c.getresponse().status == 200
                c.close()
            except (OSError, http.client.HTTPException, RuntimeError):
                ok = False
            health["ok" if ok else "failed"] += 1
            stop.wait(0.25)

    local = threading.local()
    conns: list[Conn] = []
    lock = threading.Lock()

    def send(case: Case):
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = Conn(hub.port)
            with lock:
                conns.append(conn)
        status, headers, body, note = conn.send(case.wire(keys), case.fresh, case.half_close)
        case.answer = (status, headers, body, note)

    watcher = threading.Thread(target=monitor, daemon=True)
    watcher.start()
    t0 = time.monotonic()
    try:
        with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
            for _ in pool.map(send, cases):
                pass
    finally:
        elapsed = time.monotonic() - t0
        stop.set()
        watcher.join()
        for c in conns:
            c.close()
    rss["end"] = rss_mb(pid) if hub.alive() else 0.0

    per_kind: dict[str, dict] = collections.defaultdict(lambda: {"n": 0, "statuses": collections.Counter(),
                                                                 "classes": collections.Counter(), "bad": []})
    histogram = collections.Counter()
    kept = []
    for case in cases:
        status, headers, body, note = case.answer
        cls, problem = judge(case, status, headers, body, note)
        k = per_kind[case.kind]
        k["n"] += 1
        k["statuses"][status or 0] += 1
        k["classes"][cls] += 1
        histogram[status or 0] += 1
        if problem:
            k["bad"].append(f"{case.target} {case.path[:40]}: {problem}; body {body[:160]!r}")
        if body:
            kept.append(body[:4096])
    ctx.keep_body(b"\n".join(kept))

    for kind in sorted(per_kind):
        k = per_kind[kind]
        statuses = ", ".join(f"{s or 'none'}×{n}" for s, n in sorted(k["statuses"].items()))
        classes = ", ".join(f"{c} {n}" for c, n in k["classes"].most_common())
        result = f"statuses {statuses}; {classes}"
        if k["bad"]:
            result += f"; {len(k['bad'])} wrong, e.g. {k['bad'][0]}"
        if full or k["bad"]:  # on the second database only the kinds that went wrong get a row of their own
            yield Row(f"{kind} ({db})", f"{k['n']} requests", result, not k["bad"] and k["n"] > 0)

    total = len(cases)
    fivexx = sum(n for s, n in histogram.items() if s >= 500)
    wrong = sum(len(k["bad"]) for k in per_kind.values())
    kestrel = sum(k["classes"]["kestrel"] for k in per_kind.values())
    same = hub.alive() and hub.proc.pid == pid and hub.starts == 1
    grown = rss["peak"] - rss["start"]
    hist = ", ".join(f"{s or 'none'}×{n}" for s, n in sorted(histogram.items()))
    yield Row(f"malformed input, all kinds ({db})",
              f"{total} bad requests of {len(per_kind)} kinds in {elapsed:.1f} s ({WORKERS} connections) on /a2a/target "
              f"(allowed agent key, no key, bad key) and POST /api/v1/{{keys,agents,policies,policies/explain}}",
              f"{fivexx} answers 5xx, {wrong} of wrong shape ({kestrel} bodiless Kestrel rejects of malformed HTTP "
              f"counted as right); statuses {hist}; same process {pid}: {'yes' if same else 'NO'}; /healthz "
              f"{health['ok']} ok, {health['failed']} failed; RSS start {rss['start']:.0f} MB, peak {rss['peak']:.0f} MB, "
              f"end {rss['end']:.0f} MB (bound start + {RSS_BOUND_MB} MB)",
              fivexx == 0 and wrong == 0 and same and health["failed"] == 0 and health["ok"] > 0
              and grown <= RSS_BOUND_MB and (total >= 10_000 or not full) and len(per_kind) >= 12)
    hub.stop()


def write_corpus(cases: list[Case]) -> None:
    """A few seeds of every kind as raw requests: <kind>-NNN.http, with {{KEY}} for the credential of its target
    (first line of the file: '# target: a2a|a2a-anon|a2a-badkey|api', then '; half-close' when the client sends less
    body than announced and half-closes)."""
    by_kind: dict[str, list[Case]] = collections.defaultdict(list)
    big: collections.Counter = collections.Counter()
    for case in cases:
        size = len(case.template())
        if len(by_kind[case.kind]) >= CORPUS_PER_KIND or size > 64 * 1024:
            continue
        if size > 4096:  # a few large ones per kind (10,000-deep nesting, huge arrays), the rest small
            if big[case.kind] >= 3:
                continue
            big[case.kind] += 1
        by_kind[case.kind].append(case)
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    CORPUS.mkdir(parents=True)
    for kind, chosen in by_kind.items():
        for i, case in enumerate(chosen):
            flags = "; half-close" if case.half_close else ""
            (CORPUS / f"{kind}-{i:03d}.http").write_bytes(f"# target: {case.target}{flags}\n".encode() + case.template())
