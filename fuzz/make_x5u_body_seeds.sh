#!/usr/bin/env bash
# Regenerates the seed corpus of the `x5u_body` fuzz target with openssl. The seeds are
# throwaway self-signed P-256 certificates; only their PEM shape matters.
set -euo pipefail
cd "$(dirname "$0")/corpus/x5u_body"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for name in leaf ca; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj "/CN=x5u seed $name" -keyout "$tmp/$name.key" -out "$tmp/$name.pem" 2>/dev/null
done
cat "$tmp/leaf.pem" "$tmp/ca.pem" > seed-chain
cp "$tmp/leaf.pem" seed-one
{ echo "subject=CN = x5u seed leaf"; cat "$tmp/leaf.pem"; cat "$tmp/leaf.key"; } > seed-mixed
for _ in $(seq 11); do cat "$tmp/leaf.pem"; done > seed-eleven
head -c 200 "$tmp/leaf.pem" > seed-truncated
printf '<html><body>404 Not Found</body></html>\n' > seed-html
