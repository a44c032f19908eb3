#!/usr/bin/env bash
# file: a2c-up.sh
# Install (once), configure and start acme2certifier 0.46.3 on 127.0.0.1 as a TNAuthList/tkauth-01
# test CA. Prints the directory URL on success. Needs python3 (with venv) and openssl on PATH.
#   A2C_DIR         state dir (venv, CA, cfg, DB, log, pid, port)   default /tmp/a2c-test
#   A2C_PORT        TCP port on 127.0.0.1; 0 = any free port          default 18080
#   A2C_CA_HANDLER  sti     = own handler sti_ca_handler.py, copies TNAuthList into the cert (default)
#                   openssl = stock openssl_ca_handler; the issued cert has NO TNAuthList
#   A2C_TLS         1 = serve HTTPS with a self-signed cert for 127.0.0.1 ($A2C_DIR/tls/cert.pem)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
A2C_DIR=${A2C_DIR:-/tmp/a2c-test}
A2C_PORT=${A2C_PORT:-18080}
A2C_CA_HANDLER=${A2C_CA_HANDLER:-sti}
A2C_TLS=${A2C_TLS:-0}
PY="$A2C_DIR/venv/bin/python"
A2C_DIR="$A2C_DIR" "$HERE/a2c-down.sh"   # stop a server left over in the same A2C_DIR (by its PID)
mkdir -p "$A2C_DIR/ca/certs"

if ! "$PY" -c 'import acme2certifier' 2>/dev/null; then
  python3 -m venv "$A2C_DIR/venv"
  "$A2C_DIR/venv/bin/pip" install --quiet --disable-pip-version-check acme2certifier==0.46.3
fi

if [ ! -f "$A2C_DIR/ca/ca-cert.pem" ]; then   # self-signed P-256 root, unencrypted key
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$A2C_DIR/ca/ca-key.pem" -out "$A2C_DIR/ca/ca-cert.pem" -days 3650 \
    -subj "/C=US/O=Test STI-CA/CN=Test SHAKEN Root" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

if [ "$A2C_CA_HANDLER" = openssl ]; then
  CAH="handler_module: acme2certifier.cahandlers.openssl_ca_handler
issuing_ca_crl: $A2C_DIR/ca/crl.pem
cert_save_path: $A2C_DIR/ca/certs"
else
  CAH="handler_module: sti_ca_handler
policy_oid: 2.16.840.1.114569.1.1.3"
fi
cat > "$A2C_DIR/acme_srv.cfg" <<CFG
[DEFAULT]
debug: False

[DBhandler]
handler: wsgi
dbfile: $A2C_DIR/acme_srv.db

[CAhandler]
$CAH
issuing_ca_key: $A2C_DIR/ca/ca-key.pem
issuing_ca_cert: $A2C_DIR/ca/ca-cert.pem
cert_validity_days: 30

[Order]
tnauthlist_support: True
CFG

SCHEME=http
if [ "$A2C_TLS" = 1 ]; then
  SCHEME=https
  export A2C_TLS_CERT="$A2C_DIR/tls/cert.pem" A2C_TLS_KEY="$A2C_DIR/tls/key.pem"
  export SSL_CERT_FILE="$A2C_TLS_CERT"   # for the readiness probe below (Python honours it)
  if [ ! -f "$A2C_TLS_CERT" ]; then
    mkdir -p "$A2C_DIR/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
      -keyout "$A2C_TLS_KEY" -out "$A2C_TLS_CERT" -subj "/CN=127.0.0.1" \
      -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
  fi
fi

rm -f "$A2C_DIR/acme_srv.db" "$A2C_DIR/port" "$A2C_DIR/ca/revoked.txt"   # fresh state on every start
ACME_SRV_CONFIGFILE="$A2C_DIR/acme_srv.cfg" ACME2CERTIFIER_I_KNOW_THE_RISK=1 \
  nohup "$PY" "$HERE/serve.py" "$A2C_PORT" "$A2C_DIR/port" >"$A2C_DIR/server.log" 2>&1 &
echo $! >"$A2C_DIR/server.pid"

for _ in $(seq 1 100); do   # up to ~20 s
  if [ -s "$A2C_DIR/port" ]; then
    URL="$SCHEME://127.0.0.1:$(cat "$A2C_DIR/port")/directory"
    if "$PY" -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$URL" 2>/dev/null; then
      echo "$URL"; exit 0
    fi
  fi
  kill -0 "$(cat "$A2C_DIR/server.pid")" 2>/dev/null || break
  sleep 0.2
done
echo "acme2certifier did not come up; see $A2C_DIR/server.log" >&2
A2C_DIR="$A2C_DIR" "$HERE/a2c-down.sh"
exit 1
