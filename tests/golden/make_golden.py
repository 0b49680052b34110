#!/usr/bin/env python3
"""Builds the golden fixtures of tests/unit/test_golden.c from the byte layouts documented in
docs/files.md ("Content format") and docs/audit.md ("Canonical encoding and hash",
"Checkpoints", "Export format"), independently of kura's C code: Python's hashlib, the
`cryptography` package (AES-256-GCM, ChaCha20-Poly1305, Ed25519) and a hand-written HChaCha20
for XChaCha20-Poly1305. Fixed keys, nonces and times; the C writer must reproduce these bytes
exactly and the C readers must accept them and refuse any flipped bit.

Run from the repository root:  python3 tests/golden/make_golden.py
It rewrites tests/golden/*.bin and *.jsonl; they are checked in, the script is not run by
the tests (a fixture made by the code under test would prove nothing)."""
import datetime
import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

HERE = os.path.dirname(os.path.abspath(__file__))
M32 = 0xFFFFFFFF


def be64(v):
    return struct.pack(">q", v)


def be32(v):
    return struct.pack(">I", v)


# ---------------------------------------------------------------- XChaCha20-Poly1305

def _rotl(v, c):
    return ((v << c) & M32) | (v >> (32 - c))


def _qr(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & M32; s[d] ^= s[a]; s[d] = _rotl(s[d], 16)
    s[c] = (s[c] + s[d]) & M32; s[b] ^= s[c]; s[b] = _rotl(s[b], 12)
    s[a] = (s[a] + s[b]) & M32; s[d] ^= s[a]; s[d] = _rotl(s[d], 8)
    s[c] = (s[c] + s[d]) & M32; s[b] ^= s[c]; s[b] = _rotl(s[b], 7)


def hchacha20(key, nonce16):
    s = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574]
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))
    for _ in range(10):
        _qr(s, 0, 4, 8, 12); _qr(s, 1, 5, 9, 13); _qr(s, 2, 6, 10, 14); _qr(s, 3, 7, 11, 15)
        _qr(s, 0, 5, 10, 15); _qr(s, 1, 6, 11, 12); _qr(s, 2, 7, 8, 13); _qr(s, 3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


# draft-irtf-cfrg-xchacha-03, 2.2.1
assert hchacha20(bytes(range(32)), bytes.fromhex("000000090000004a0000000031415927")) == bytes.fromhex(
    "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc")


def xchacha_seal(key, nonce24, data, ad):
    sub = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).encrypt(b"\0" * 4 + nonce24[16:], data, ad)


# ---------------------------------------------------------------- file content (docs/files.md)

FILE_KEY = bytes(range(32))                      # 00 01 .. 1f
FILE_PREFIX = bytes(range(0xA0, 0xB0))           # a0 a1 .. af
FILE_PLAIN = bytes((i * 7 + 3) % 256 for i in range(65536 + 7))   # two chunks, the last 7 bytes
CHUNK = 65536


def sealed_file(alg):
    header = b"KURAFC" + bytes([1, alg]) + be32(CHUNK) + b"\0" * 4 + FILE_PREFIX
    assert len(header) == 32
    chunks = [FILE_PLAIN[i:i + CHUNK] for i in range(0, len(FILE_PLAIN), CHUNK)] or [b""]
    out = header
    for i, data in enumerate(chunks):
        last = i == len(chunks) - 1
        ad = header + be64(i) + bytes([1 if last else 0])
        if alg == 1:
            out += AESGCM(FILE_KEY).encrypt(FILE_PREFIX[:4] + be64(i), data, ad)
        else:
            out += xchacha_seal(FILE_KEY, FILE_PREFIX + be64(i), data, ad)
    assert len(out) == 32 + len(FILE_PLAIN) + 16 * len(chunks)
    return out


# ---------------------------------------------------------------- audit export (docs/audit.md)

SEED = b"kura golden audit signing seed!!"
assert len(SEED) == 32
T1 = int(datetime.datetime(2026, 11, 22, 2, 33, 19, 123456, tzinfo=datetime.timezone.utc).timestamp()) * 1000000 + 123456
T2 = T1 + 1000001
T3 = T1 + 60000000
TENANT = 1
RECORDS = [
    dict(time_us=T1, actor_type="account", actor="alice", source_ip="192.0.2.1",
         user_agent='golden/1.0 "quoted"', category="authentication", action="session.create",
         target="account:alice", result="success", details='{"method":"password"}'),
    dict(time_us=T2, actor_type="account", actor="alice", source_ip="192.0.2.1",
         user_agent='golden/1.0 "quoted"', category="operation", action="file.upload",
         target="node:7", result="success", details='{"name":"報告書.pdf","size":1234}'),
]
FIELDS = ["actor_type", "actor", "source_ip", "user_agent", "category", "action", "target", "result", "details"]


def s(v):
    b = v.encode("utf-8")
    return be32(len(b)) + b


def rfc3339(us):
    t = datetime.datetime.fromtimestamp(us // 1000000, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % (us % 1000000)


def jdump(o):
    return json.dumps(o, ensure_ascii=False, separators=(",", ":"))


def audit_export():
    sk = Ed25519PrivateKey.from_private_bytes(SEED)
    pk = sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    lines = []
    lines.append(jdump({"type": "header", "format": "kura-audit-export-1", "tenant": TENANT,
                        "exported_at": rfc3339(T3), "public_key": pk.hex(), "first_seq": 1,
                        "last_seq": len(RECORDS), "filters": {k: None for k in
                                                              ["from", "to", "category", "actor", "action",
                                                               "result", "target"]}}))
    prev = b"\0" * 32
    for seq, r in enumerate(RECORDS, 1):
        content = hashlib.sha256(be64(r["time_us"]) + b"".join(s(r[f]) for f in FIELDS)).digest()
        h = hashlib.sha256(b"KURA-AUDIT-RECORD-1" + be64(TENANT) + be64(seq) + prev + content).digest()
        o = {"type": "record", "tenant": TENANT, "seq": seq, "time": rfc3339(r["time_us"]),
             "time_us": r["time_us"]}
        o.update({f: r[f] for f in FIELDS})
        o.update({"prev_hash": prev.hex(), "hash": h.hex()})
        lines.append(jdump(o))
        prev = h
    msg = (b"KURA-AUDIT-CHECKPOINT-1" + be64(TENANT) + be64(len(RECORDS)) + prev + be64(T3) + bytes([1])
           + be64(1000) + be64(2000))
    lines.append(jdump({"type": "checkpoint", "tenant": TENANT, "seq": len(RECORDS), "head": prev.hex(),
                        "time": rfc3339(T3), "time_us": T3,
                        "clock": {"synchronized": True, "estimated_error_us": 1000, "maximum_error_us": 2000},
                        "key": pk.hex(), "signature": sk.sign(msg).hex()}))
    body = "".join(line + "\n" for line in lines).encode("utf-8")
    fh = hashlib.sha256(body).digest()
    trailer = jdump({"type": "trailer", "lines": len(lines), "sha256": fh.hex(), "key": pk.hex(),
                     "signature": sk.sign(b"KURA-AUDIT-EXPORT-1" + be64(TENANT) + fh).hex()})
    return body + (trailer + "\n").encode("utf-8")


def main():
    with open(os.path.join(HERE, "filecrypt-aes256gcm.bin"), "wb") as f:
        f.write(sealed_file(1))
    with open(os.path.join(HERE, "filecrypt-xchacha20poly1305.bin"), "wb") as f:
        f.write(sealed_file(2))
    with open(os.path.join(HERE, "audit-export.jsonl"), "wb") as f:
        f.write(audit_export())
    for name in sorted(os.listdir(HERE)):
        if name.endswith((".bin", ".jsonl")):
            with open(os.path.join(HERE, name), "rb") as f:
                print(hashlib.sha256(f.read()).hexdigest(), name)


if __name__ == "__main__":
    main()
