#!/bin/sh
# ctest contrib/testssl: testssl.sh (Debian package testssl.sh) against a real `kura serve`
# with a certificate from a test CA made here (issue 13, D2/F8, docs/security.md "TLS checks").
# Passes when testssl.sh finds nothing above LOW but what a test certificate cannot avoid
# (no CRL or OCSP URI, no DNS CAA record), the protocols are TLS 1.2 and 1.3 only, every
# cipher offered (each listed per protocol) has forward secrecy (ECDHE or DHE), and HSTS lasts
# a year or more. Prints the summary. Fails, never skips, without testssl or openssl.
# usage: testssl.sh path/to/kura
set -eu
kura=$1
for c in testssl openssl python3; do
	command -v "$c" >/dev/null || { echo "contrib/testssl: FAIL: $c is missing (scripts/deps.sh --test)" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kura-testssl-XXXXXX")
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
cd "$tmp"

# a test CA and a server certificate for localhost and 127.0.0.1 it signs (RSA: the ECDHE-RSA
# and DHE-RSA suites are the ones a typical deployment offers)
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 400 -subj "/CN=kura test CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout key.pem -out req.csr -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >ext.cnf
openssl x509 -req -in req.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 398 -extfile ext.cnf -out cert.pem 2>/dev/null
chmod 600 key.pem

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$kura" init --data "$tmp/d" >init.out 2>&1 || { cat init.out >&2; exit 1; }
{
	printf '\n[server]\nlisten = 127.0.0.1:%s\npublic_url = https://localhost:%s\n' "$port" "$port"
	printf 'tls_cert = %s/cert.pem\ntls_key = %s/key.pem\n' "$tmp" "$tmp"
	[ "$(id -u)" != 0 ] || printf 'user = root\n'
	printf '[mail]\nsmtp_url = smtp://127.0.0.1:9\n'
} >>"$tmp/d/kura.conf"
"$kura" serve --data "$tmp/d" >serve.out 2>serve.log &
pid=$!
i=0
until grep -q '"server.start"' serve.log 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 "$pid" 2>/dev/null; then
		tail -5 serve.log >&2
		echo "contrib/testssl: FAIL: kura serve did not start" >&2
		exit 1
	fi
	sleep 0.1
done

# protocols, each cipher per protocol (its key exchange shows forward secrecy), server defaults (certificate), HTTP
# headers, the vulnerabilities; short timeouts keep it to about a minute
start=$(date +%s)
testssl --quiet --warnings off --color 0 --openssl-timeout 5 --connect-timeout 5 \
	--add-ca "$tmp/ca.pem" --jsonfile "$tmp/out.json" -p -E -S -h -U "https://localhost:$port" >testssl.txt 2>&1 || true
took=$(($(date +%s) - start))
[ -s out.json ] || { cat testssl.txt >&2; echo "contrib/testssl: FAIL: testssl.sh wrote no findings" >&2; exit 1; }

# testssl.sh 3.0 takes a clean close after its fourth renegotiation request for a completed
# renegotiation (its own exemption, issue 1725 upstream, covers the first try only): see
# what the server answers to a renegotiating ClientHello ourselves; stdin stays open until
# that answer is in (s_client ends the connection at EOF), polled up to 30 s, not a fixed
# second a loaded machine may not answer in
answered() { sed -n '/^RENEGOTIATING/,$p' renego.txt 2>/dev/null | grep -a '<<<' | grep -avq RecordHeader; }
: >renego.txt
(echo R; i=0; until answered || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done) |
	openssl s_client -msg -connect "127.0.0.1:$port" -tls1_2 -CAfile "$tmp/ca.pem" >renego.txt 2>&1 || true
renego=$(sed -n '/^RENEGOTIATING/,$p' renego.txt | grep -a -c 'ServerHello' || true)

python3 - "$tmp/out.json" "$took" "$renego" "$(sed -n '/^RENEGOTIATING/,$p' renego.txt | grep -a '<<<' | grep -av RecordHeader | head -1)" <<'PY'
import json, re, sys
items = json.load(open(sys.argv[1]))
if isinstance(items, dict):
    items = [x for v in items.values() if isinstance(v, list) for x in v]
by = {x["id"]: x for x in items}
# what a certificate from a test CA on loopback cannot have
unavoidable = {"cert_revocation", "cert_crlDistributionPoints", "cert_ocspURL", "OCSP_stapling",
               "DNS_CAArecord", "cert_mustStapleExtension", "cert_certificateTransparency"}
bad = []
renego_refused = sys.argv[3] == "0" and "Alert" in sys.argv[4]   # no ServerHello, an alert
renego_answer = sys.argv[4].replace("<<< ", "").strip() or "nothing"
renego_note = ""
for x in items:
    sev = x.get("severity", "")
    text = x.get("finding", "")
    if x["id"] in unavoidable or (sev == "WARN" and re.search(r"local OpenSSL|your /usr/bin/openssl", text)):
        continue   # a test certificate's lot, or the local openssl lacks an old cipher
    if x["id"] == "secure_client_renego":
        renego_note = f'testssl.sh: {text}; openssl s_client: a renegotiating ClientHello is answered with ' \
            f'{renego_answer}{" and no ServerHello" if renego_refused else ""}'
        if renego_refused:
            continue
    if sev in ("MEDIUM", "HIGH", "CRITICAL", "WARN", "FATAL") or \
            (re.search(r"NOT ok|\bVULNERABLE\b", text, re.I) and "not vulnerable" not in text.lower()):
        bad.append(f'{x["id"]} {sev}: {text}')
offered = {p: by.get(p, {}).get("finding", "?") for p in ("SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3")}
protocols = [p for p, f in offered.items() if f.startswith("offered")]
if protocols != ["TLS1_2", "TLS1_3"]:
    bad.append(f"protocols offered: {protocols} (want TLS1_2 and TLS1_3 only)")
ciphers = [x for x in items if x["id"].startswith("cipher-tls") or x["id"].startswith("cipher_x")]
no_fs = []
for c in ciphers:
    # "TLS 1.2   xc030   ECDHE-RSA-AES256-GCM-SHA384   ECDH 253   AESGCM   256   TLS_ECDHE_..."
    m = re.match(r"\s*TLS\S*(?: \d\.\d)?\s+x[0-9a-fA-F]+\s+\S+\s+(\S+)", c["finding"])
    kx = m.group(1) if m else "?"
    if kx not in ("ECDH", "DH") and not kx.startswith("ECDH/") and not kx.startswith("DH/"):
        no_fs.append(c["finding"])
if not ciphers:
    bad.append("testssl.sh listed no cipher (-E)")
if no_fs:
    bad.append("ciphers without forward secrecy: " + "; ".join(no_fs))
hsts = by.get("HSTS_time", {}).get("finding", "")
m = re.search(r"=(\d+) s", hsts)
if not m or int(m.group(1)) < 365 * 86400:
    bad.append(f"HSTS shorter than a year: {hsts or 'none'}")
print(f"testssl.sh against kura serve ({sys.argv[2]} s):")
print(f"  protocols: {', '.join(protocols)}")
print(f"  ciphers: {len(ciphers)}, all with forward secrecy: {'yes' if not no_fs else 'NO'}")
for c in ciphers:
    print("    " + " ".join(c["finding"].split()[:6]))
print(f"  HSTS: {hsts}")
print(f"  vulnerability checks: {sum(1 for x in items if x.get('severity') == 'OK' and x['id'] in ('heartbleed','CCS','ticketbleed','ROBOT','secure_renego','secure_client_renego','CRIME_TLS','BREACH','POODLE_SSL','fallback_SCSV','SWEET32','FREAK','DROWN','LOGJAM','BEAST','LUCKY13','RC4'))} OK")
allowed = [f'{x["id"]} {x["severity"]}: {x["finding"]}' for x in items if x["id"] in unavoidable
           and x.get("severity") not in ("OK", "INFO")]
for a in allowed:
    print(f"  allowed for a test certificate: {a}")
if renego_note:
    print(f"  client-initiated renegotiation: {renego_note}")
for b in bad:
    print(f"  FINDING: {b}")
if bad:
    print("contrib/testssl: FAIL")
    sys.exit(1)
print("contrib/testssl: ok")
PY
