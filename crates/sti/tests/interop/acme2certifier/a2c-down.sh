#!/usr/bin/env bash
# file: a2c-down.sh
# Stop the server started by a2c-up.sh (by its PID only).
A2C_DIR=${A2C_DIR:-/tmp/a2c-test}
[ -f "$A2C_DIR/server.pid" ] || exit 0
PID=$(cat "$A2C_DIR/server.pid")
kill "$PID" 2>/dev/null
for _ in $(seq 1 50); do   # gone, or a zombie waiting for its (re)parent to reap it
  STATE=$(ps -o stat= -p "$PID" 2>/dev/null) || break
  case "$STATE" in Z*) break ;; esac
  sleep 0.1
done
rm -f "$A2C_DIR/server.pid" "$A2C_DIR/port"
