"""Shared by the bench scripts (search.sh, portal_first_rows.sh): a tenant `bench` with a
big quota and its manager (through `kura admin`, the invitation and TOTP, as listing.py),
then files made through the API: PUTs of a few bytes over several keep-alive connections,
one per thread. Never SQL: every file is a real file (node, blob, audit record)."""
import base64, hashlib, hmac, http.client, json, re, struct, subprocess, sys, threading, time
import urllib.parse


class Kura:
    def __init__(self, kura, data, base):
        self.kura, self.data = kura, data
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.sess = None
        self.conn = self.connect()
        for _ in range(100):
            try:
                self.conn.request("GET", "/api/v1/status")
                self.conn.getresponse().read()
                break
            except OSError:
                self.conn.close()
                time.sleep(0.1)

    def connect(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=120)

    def admin(self, *args):
        return json.loads(subprocess.run([self.kura, "admin", "--json", "--data", self.data, *args],
                                         check=True, capture_output=True, text=True).stdout)

    def req(self, method, path, body=None, headers=None, ok=(200, 201, 204), conn=None):
        c = conn or self.conn
        h = dict(headers or {})
        if self.sess:
            h["Cookie"] = "kura_session=" + self.sess["token"]
            h["X-CSRF-Token"] = self.sess["csrf"]
        if isinstance(body, dict):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # an idle keep-alive connection the server closed: once more on a new one
            c.close()
            c.connect()
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
        raw = r.read()
        if r.status not in ok:
            sys.exit(f"{method} {path}: {r.status} {raw[:300]!r}")
        ctype = r.getheader("Content-Type", "")
        return r, (json.loads(raw) if raw and ctype.startswith("application/json") else None)

    def setup(self, password="Bench-manager-pass-1"):
        """The tenant, its manager with TOTP, a session; returns (login, password)."""
        self.admin("tenant", "create", "bench", "--name", "Bench", "--service", "DOCX")
        self.admin("tenant", "set-quota", "bench", str(1 << 50))
        out = json.dumps(self.admin("manager", "create", "bench", "bmgr", "--email", "bmgr@example.com"))
        token = re.search(r"/invite/([A-Za-z0-9_-]{20,})", out)
        if not token:
            sys.exit("no invitation token in: " + out)
        self.req("POST", "/api/v1/invitations/" + token.group(1), {"password": password})
        r, j = self.req("POST", "/api/v1/session", {"tenant": "bench", "login": "bmgr", "password": password})
        self.sess = {"token": re.search(r"kura_session=([^;]+)", r.getheader("Set-Cookie")).group(1),
                     "csrf": j["csrf_token"]}
        _, j = self.req("POST", "/api/v1/me/mfa/totp", {"password": password})
        secret = j["secret"]
        self.req("POST", "/api/v1/me/mfa/totp/confirm", {"code": totp(secret)})
        # the managers' MFA policy to optional (a browser then logs in with the password)
        self.req("PATCH", "/api/v1/tenant/mfa-policy", {"managers": "optional", "password": password})
        self.req("DELETE", "/api/v1/me/mfa/totp", {"password": password})
        return "bmgr", password

    def folder(self, name, parent="root"):
        _, j = self.req("POST", f"/api/v1/folders/{parent}/children", {"name": name})
        return j["id"]

    def put_many(self, jobs, threads=4, label="files"):
        """jobs: a list of (folder id, name); PUTs a few bytes each over `threads` keep-alive
        connections. Returns the seconds it took."""
        t0 = time.time()
        done = [0]
        lock = threading.Lock()

        def worker(k):
            c = self.connect()
            for i in range(k, len(jobs), threads):
                fid, name = jobs[i]
                self.req("PUT", f"/api/v1/folders/{fid}/files/" + urllib.parse.quote(name, safe=""),
                         b"x" * (i % 97), {"Content-Type": "application/octet-stream"}, conn=c)
                with lock:
                    done[0] += 1
                    if done[0] % 50000 == 0:
                        el = time.time() - t0
                        print(f"  {done[0]} {label}, {done[0] / el:.0f}/s", file=sys.stderr, flush=True)
            c.close()

        ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return time.time() - t0


def totp(secret, step_offset=0):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30 + step_offset), hashlib.sha1).digest()
    o = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7fffffff) % 1000000)


def durations(log, request_ids):
    """Server time (duration_us of the access log) of these requests, in their order."""
    want = set(request_ids)
    d = {}
    with open(log) as f:
        for line in f:
            if '"http.request"' in line and '"request_id"' in line:
                e = json.loads(line)
                if e.get("request_id") in want:
                    d[e["request_id"]] = int(e["duration_us"])
    return [d[k] for k in request_ids if k in d]
