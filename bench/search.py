"""Driven by bench/search.sh: N files (default 1,000,000) with ASCII and Japanese names in
folders of 1,000, made through the API (bench/seed.py), then each query of a fixed set asked
REPEAT times through GET /api/v1/search; prints the median and p99 of the server's time (the
access log's duration_us) and of the time seen by the client, per query."""
import os, statistics, sys, time, urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seed import Kura, durations  # noqa: E402

kura, data, base, n, log = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
threads = int(os.environ.get("THREADS", "4"))
repeat = int(os.environ.get("REPEAT", "200"))
ASCII = ["invoice", "report", "contract", "minutes", "estimate", "photo", "backup", "draft",
         "summary", "budget"]
JA = ["報告書", "見積書", "請求書", "議事録", "契約書", "写真", "資料", "計画書", "提案書", "納品書"]
EXT = ["pdf", "xlsx", "docx", "txt", "png"]

def name(i):
    w = (ASCII if i % 2 == 0 else JA)[(i // 2) % 10]
    return f"{w.capitalize() if i % 4 == 0 else w}_{i:07d}.{EXT[i % 5]}"

k = Kura(kura, data, base)
k.setup()
folders = [k.folder(f"d{j:04d}") for j in range((n + 999) // 1000)]
jobs = [(folders[i // 1000], name(i)) for i in range(n)]
el = k.put_many(jobs, threads=threads)
print(f"created {n} files in {len(folders)} folders in {el:.0f} s ({n / el:.0f} files/s, "
      f"{threads} connections)", flush=True)

QUERIES = [
    ("ASCII, 1 in 20 names", "invoice"),
    ("ASCII, case-folded", "INVOICE_000"),
    ("ASCII, one name", f"_{n // 2:07d}."),
    ("Japanese, 1 in 20 names", "請求書"),
    ("Japanese + digits, few", "請求書_00001"),
    ("Japanese substring", "告書_0"),
    ("2 characters (prefix)", "re"),
    ("no match", "zzqxv"),
    ("no match, Japanese", "存在しない"),
]
time.sleep(0.5)
print(f"search over {n} names, {repeat} times each (limit 50, the first page):")
for label, q in QUERIES:
    ids, wall, hits = [], [], 0
    path = "/api/v1/search?q=" + urllib.parse.quote(q, safe="") + "&limit=50"
    for _ in range(repeat):
        t0 = time.perf_counter()
        r, j = k.req("GET", path)
        wall.append(time.perf_counter() - t0)
        ids.append(r.getheader("X-Request-Id") or "")
        hits = len(j["items"])
    time.sleep(0.3)
    d = sorted(durations(log, [i for i in ids if i]))
    wall.sort()
    p99 = lambda v: v[min(len(v) - 1, int(0.99 * len(v)))]
    srv = (f"server median {statistics.median(d) / 1000:.2f} ms, p99 {p99(d) / 1000:.2f} ms; "
           if d else "")
    print(f"  {label:<26} q={q!r:<16} {hits:>2} hits: {srv}client median "
          f"{statistics.median(wall) * 1000:.2f} ms, p99 {p99(wall) * 1000:.2f} ms", flush=True)
