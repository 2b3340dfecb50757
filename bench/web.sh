#!/usr/bin/env bash
# `cli serve` under load (issue 9): wrk against the release binary, one run, on this machine.
#   GET /login/        no session, no database: the reference
#   GET /welcome/      a valid session, on the redis and on the sql store
#   GET /writesession/ a new session per request
#   GET /get_all_student/ at 1,000 rows (wrk) and at 1,000,000 rows (time to the last byte and
#   the server's peak RSS, against `cli list --format csv` over the same rows)
# Writes the "web" section of BENCHMARKS.md. Redis is a private server on a free port.
#
#   bench/web.sh          # DURATION=5s CONNECTIONS=32 BIG_ROWS=1000000
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/section.sh

DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-32}
BIG_ROWS=${BIG_ROWS:-1000000}
command -v wrk >/dev/null || { echo "error: wrk is not installed (apt-get install -y wrk)" >&2; exit 2; }

work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 200); do eval "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "not ready: $1" >&2; return 1; }

echo "building cli (release)…" >&2
cargo build --release -q -p cli
CLI=$PWD/target/release/cli

RP=$(free_port)
redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --logfile "$work/redis.log" & pids+=($!)
wait_for "redis-cli -p $RP ping | grep -q PONG"

# wrk_row LABEL URL [COOKIE] → "| label | req/s | p50 | p99 |"
wrk_row() {
  local label=$1 url=$2 cookie=${3:-} out
  if [ -n "$cookie" ]; then
    out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Cookie: $cookie" "$url")
  else
    out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$url")
  fi
  if echo "$out" | grep -q "Non-2xx"; then
    echo "error: $label answered non-2xx under load:" >&2; echo "$out" >&2; exit 1
  fi
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  echo "  $label: $rps req/s, p50 $p50, p99 $p99" >&2
  printf '| %s | %s | %s | %s |\n' "$label" "$rps" "$p50" "$p99" >> "$work/rows"
  echo "$rps"
}

# serve_with STORE → starts `cli serve` on the SQLite file with sessions in STORE; sets PORT, PID.
serve_with() {
  local store=$1
  {
    printf '[default]\nurl = "sqlite://%s/students.db?mode=rwc"\nsecret_key = "%s"\n' "$work" "$(head -c 48 /dev/urandom | base64 | tr -d '\n')"
    case $store in
      redis) printf 'session_type = "redis"\nsession_url = "redis://127.0.0.1:%s/0"\n' "$RP" ;;
      sql) printf 'session_type = "sql"\n' ;;
    esac
  } > "$work/settings.toml"
  PORT=$(free_port)
  "$CLI" --config "$work/settings.toml" serve --port "$PORT" 2> "$work/serve.log" & PID=$!
  pids+=("$PID")
  wait_for "curl -sf http://127.0.0.1:$PORT/healthz"
}
stop_serve() { kill "$PID"; wait "$PID" 2>/dev/null || true; }

# login → prints the Cookie header value of a logged-in session.
login() {
  local jar=$work/jar token
  rm -f "$jar"
  token=$(curl -s -c "$jar" -b "$jar" "http://127.0.0.1:$PORT/login/" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p')
  curl -s -o /dev/null -c "$jar" -b "$jar" --data-urlencode "username=mingren" --data-urlencode "csrf_token=$token" "http://127.0.0.1:$PORT/loginsuccess/"
  awk '$6 == "session" {print "session=" $7}' "$jar"
}

: > "$work/rows"
"$CLI" --database-url "sqlite://$work/students.db?mode=rwc" create-tables > /dev/null
"$CLI" --database-url "sqlite://$work/students.db?mode=rwc" seed --count 1000 --seed 1 > /dev/null

serve_with redis
LOGIN=$(wrk_row "GET /login/ (reference)" "http://127.0.0.1:$PORT/login/")
WELCOME_REDIS=$(wrk_row "GET /welcome/, redis store" "http://127.0.0.1:$PORT/welcome/" "$(login)")
wrk_row "GET /writesession/, redis store (new session each)" "http://127.0.0.1:$PORT/writesession/" > /dev/null
wrk_row "GET /get_all_student/, 1,000 rows" "http://127.0.0.1:$PORT/get_all_student/" > /dev/null
stop_serve

serve_with sql
wrk_row "GET /welcome/, sql store (SQLite)" "http://127.0.0.1:$PORT/welcome/" "$(login)" > /dev/null
wrk_row "GET /writesession/, sql store (new session each)" "http://127.0.0.1:$PORT/writesession/" > /dev/null
stop_serve

# The big page: time to the last byte and the server's peak RSS, against cli list.
echo "  seeding $BIG_ROWS rows…" >&2
"$CLI" --database-url "sqlite://$work/students.db?mode=rwc" seed --count $((BIG_ROWS - 1000)) --seed 2 > /dev/null
serve_with redis
median() { sort -n | awk '{a[NR]=$1} END {print a[(NR+1)/2]}'; }
for _ in 1 2 3; do
  curl -s -o "$work/page.html" -w '%{time_total}\n' "http://127.0.0.1:$PORT/get_all_student/" >> "$work/page_times"
done
lines=$(grep -c '<li>' "$work/page.html")
[ "$lines" = "$BIG_ROWS" ] || { echo "error: the page listed $lines rows, not $BIG_ROWS" >&2; exit 1; }
RSS_KIB=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")
stop_serve
for _ in 1 2 3; do
  /usr/bin/time -f '%e' -o "$work/t" "$CLI" --database-url "sqlite://$work/students.db?mode=ro" list --format csv > /dev/null
  cat "$work/t" >> "$work/list_times"
done
PAGE=$(median < "$work/page_times")
LIST=$(median < "$work/list_times")

r() { python3 -c "print(f'{$1:.2f}')"; }
{
  echo "## Web app (\`bench/web.sh\`)"
  echo
  echo "Written on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores: wrk -t2 -c$CONNECTIONS -d$DURATION against \`cli serve\`"
  echo "(release) on loopback, students in SQLite, Redis a private server."
  echo
  echo "| request | requests/s | p50 | p99 |"
  echo "| --- | --- | --- | --- |"
  cat "$work/rows"
  echo
  echo "- \`/welcome/\` on Redis: $(r "$WELCOME_REDIS / $LOGIN")× the requests/s of \`/login/\` (target ≥ 0.5)."
  echo "- \`/get_all_student/\` at $BIG_ROWS rows: ${PAGE} s to the last byte (median of 3), $(r "$PAGE / $LIST")× \`cli list"
  echo "  --format csv\` over the same rows (${LIST} s; target ≤ 2); the server's peak RSS $(r "$RSS_KIB / 1024") MiB (target ≤ 64)."
} > "$work/section.md"
replace_section web "$work/section.md"
cat "$work/section.md"
