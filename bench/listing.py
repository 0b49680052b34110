"""Driven by bench/listing.sh: a tenant and its manager through `kura admin` and the
invitation, N files in one folder and 10 in another through the API (one keep-alive
connection), then every page of 1000 of both folders for each sort, timed by the server's
own access log (duration_us)."""
import http.client, json, re, statistics, subprocess, sys, time, urllib.parse

kura, data, base, n, log = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
host = urllib.parse.urlparse(base)
conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)

def admin(*args):
    return json.loads(subprocess.run([kura, "admin", "--json", "--data", data, *args],
                                     check=True, capture_output=True, text=True).stdout)

def req(method, path, body=None, headers=None, ok=(200, 201, 204)):
    h = dict(headers or {})
    if sess:
        h["Cookie"] = "kura_session=" + sess["token"]
        h["X-CSRF-Token"] = sess["csrf"]
    if isinstance(body, dict):
        body = json.dumps(body)
        h["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    raw = r.read()
    if r.status not in ok:
        sys.exit(f"{method} {path}: {r.status} {raw[:300]!r}")
    return r, (json.loads(raw) if raw and r.getheader("Content-Type", "").startswith("application/json") else None)

sess = None
for _ in range(100):
    try:
        conn.request("GET", "/api/v1/status"); conn.getresponse().read(); break
    except OSError:
        conn.close(); time.sleep(0.1)
admin("tenant", "create", "bench", "--name", "Bench", "--service", "DOCX")
admin("tenant", "set-quota", "bench", str(1 << 50))
out = json.dumps(admin("manager", "create", "bench", "bmgr", "--email", "bmgr@example.com"))
token = re.search(r"/invite/([A-Za-z0-9_-]{20,})", out)
if not token:
    sys.exit("no invitation token in: " + out)
pw = "Bench-manager-pass-1"
req("POST", "/api/v1/invitations/" + token.group(1), {"password": pw})
r, j = req("POST", "/api/v1/session", {"tenant": "bench", "login": "bmgr", "password": pw})
m = re.search(r"kura_session=([^;]+)", r.getheader("Set-Cookie"))
sess = {"token": m.group(1), "csrf": j["csrf_token"]}

def totp(secret, step_offset=0):
    import base64, hashlib, hmac, struct
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30 + step_offset), hashlib.sha1).digest()
    o = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7fffffff) % 1000000)

# the tenant requires a second factor of managers: enrol TOTP, log in again with it
_, j = req("POST", "/api/v1/me/mfa/totp", {"password": pw})
secret = j["secret"]
req("POST", "/api/v1/me/mfa/totp/confirm", {"code": totp(secret)})
sess = None
_, j = req("POST", "/api/v1/session", {"tenant": "bench", "login": "bmgr", "password": pw}, ok=(202,))
r, j = req("POST", "/api/v1/session", {"challenge": j["challenge"], "otp": totp(secret, 1)})
m = re.search(r"kura_session=([^;]+)", r.getheader("Set-Cookie"))
sess = {"token": m.group(1), "csrf": j["csrf_token"]}

def folder(name):
    _, j = req("POST", "/api/v1/folders/root/children", {"name": name})
    return j["id"]

big, small = folder("big"), folder("small")
t0 = time.time()
for i in range(n):
    req("PUT", f"/api/v1/folders/{big}/files/f{i:07d}.txt", b"x" * (i % 97),
        {"Content-Type": "application/octet-stream"})
    if i and i % 10000 == 0:
        print(f"  {i} files, {i / (time.time() - t0):.0f}/s", file=sys.stderr)
for i in range(10):
    req("PUT", f"/api/v1/folders/{small}/files/f{i}.txt", b"x", {"Content-Type": "application/octet-stream"})
print(f"created {n} + 10 files in {time.time() - t0:.0f} s")

def durations(request_ids):
    d = {}
    with open(log) as f:
        for line in f:
            if '"http.request"' in line:
                e = json.loads(line)
                if e.get("request_id") in request_ids:
                    d[e["request_id"]] = int(e["duration_us"])
    return [d[k] for k in request_ids if k in d]

def page_all(fid, query):
    ids, after, pages = [], None, 0
    while True:
        path = f"/api/v1/folders/{fid}/children?limit=1000&{query}"
        if after:
            path += "&after=" + urllib.parse.quote(after, safe="")
        r, j = req("GET", path)
        ids.append(r.getheader("X-Request-Id") or "")
        pages += 1
        if not j["more"]:
            return ids, pages
        after = j["next"]

time.sleep(0.5)
for label, fid in (("100k" if n == 100000 else str(n), big), ("10", small)):
    for q in ("sort=name", "sort=name&order=desc", "sort=size", "sort=modified&order=desc"):
        ids, pages = page_all(fid, q)
        time.sleep(0.3)
        d = durations([i for i in ids if i])
        if not d:
            print(f"folder of {label}, {q}: {pages} pages (no request ids in the log)")
            continue
        d.sort()
        print(f"folder of {label:>5}, {q:<22}: {pages:>3} pages, server time per page median "
              f"{statistics.median(d) / 1000:.1f} ms, p90 {d[int(0.9 * (len(d) - 1))] / 1000:.1f} ms,"
              f" max {d[-1] / 1000:.1f} ms")
