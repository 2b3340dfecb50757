#!/usr/bin/env bash
# Session-store throughput (issue 8): create + load + save + delete cycles per second for each
# store, from 1 and 32 concurrent tasks, and for Redis the reference: redis-benchmark's SET and
# GET (same 256-byte payload, 32 clients, no pipelining) against the same private redis-server,
# in the same run. Writes the "sessions" section of BENCHMARKS.md.
#
#   bench/sessions.sh            # SECONDS=5 per measurement
# Never loads the shared servers: Redis, memcached and MongoDB are private ones on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/section.sh

SECONDS_EACH=${SECONDS_EACH:-5}
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq 100); do eval "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "not ready: $1" >&2; return 1; }

echo "building the throughput program (release)…" >&2
cargo build --release -q -p sessions --example throughput
cargo build --release -q -p cli
BIN=$PWD/target/release/examples/throughput
CLI=$PWD/target/release/cli

run() { # run NAME SETTINGS_FILE VAR → appends "| NAME | 1 task | 32 tasks |" to $work/rows
  local name=$1 file=$2 one many
  one=$("$BIN" "$file" 1 "$SECONDS_EACH" | sed -n 's/.*ops_per_s=\([0-9]*\).*/\1/p')
  many=$("$BIN" "$file" 32 "$SECONDS_EACH" | sed -n 's/.*ops_per_s=\([0-9]*\).*/\1/p')
  [ -n "$one" ] && [ -n "$many" ] || return 1
  echo "  $name: 1 task $one ops/s, 32 tasks $many ops/s" >&2
  printf '| %s | %s | %s |\n' "$name" "$one" "$many" >> "$work/rows"
  eval "R_$3=$many"
}
: > "$work/rows"

# Redis, private.
RP=$(free_port)
redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --logfile "$work/redis.log" & pids+=($!)
wait_for "redis-cli -p $RP ping | grep -q PONG"
printf '[default]\nsession_type = "redis"\nsession_url = "redis://127.0.0.1:%s/0"\n' "$RP" > "$work/redis.toml"
run redis "$work/redis.toml" redis
bench_csv=$(redis-benchmark -p "$RP" -q -n 200000 -c 32 -d 256 -t set,get --csv)
SET=$(echo "$bench_csv" | awk -F'"' '/^"SET"/ {print $4}')
GET=$(echo "$bench_csv" | awk -F'"' '/^"GET"/ {print $4}')
REF=$(python3 -c "print(round(($SET + $GET) / 2))")

# SQL on the embedded SQLite file.
printf '[default]\nurl = "sqlite://%s/s.db?mode=rwc"\nsession_type = "sql"\n' "$work" > "$work/sql.toml"
"$CLI" --config "$work/sql.toml" create-tables > /dev/null
run "sql (SQLite)" "$work/sql.toml" sql

# Filesystem.
printf '[default]\nsession_type = "filesystem"\nsession_dir = "%s/fs"\n' "$work" > "$work/fs.toml"
run filesystem "$work/fs.toml" fs

# memcached, private, when installed.
if command -v memcached >/dev/null; then
  MP=$(free_port)
  memcached -u nobody -l 127.0.0.1 -p "$MP" -U 0 -m 64 -c 256 & pids+=($!)
  wait_for "bash -c '</dev/tcp/127.0.0.1/$MP'"
  printf '[default]\nsession_type = "memcached"\nsession_url = "memcache://127.0.0.1:%s"\n' "$MP" > "$work/mc.toml"
  run memcached "$work/mc.toml" mc
fi

# MongoDB-wire server, private, when the test venv has one.
MONGO=${STUDENTS_MONGO_SERVER:-$PWD/target/venv-mongo/bin/secantusd-py}
if [ -x "$MONGO" ]; then
  GP=$(free_port)
  : > "$work/secantusd.toml"   # an empty config: never a stray ./secantusd.toml or ~/.secantus one
  "$MONGO" --host 127.0.0.1 --port "$GP" --storage-path :memory: --log-level WARNING --config "$work/secantusd.toml" & pids+=($!)
  wait_for "bash -c '</dev/tcp/127.0.0.1/$GP'"
  printf '[default]\nsession_type = "mongodb"\nsession_url = "mongodb://127.0.0.1:%s/bench?directConnection=true"\n' "$GP" > "$work/mg.toml"
  run "mongodb (SecantusDB, a Python server: its own speed, not MongoDB's)" "$work/mg.toml" mg
else
  echo "  mongodb: not measured (no SecantusDB; scripts/test makes target/venv-mongo, or set STUDENTS_MONGO_SERVER)" >&2
fi

ratio=$(python3 -c "print(f'{$R_redis / $REF:.2f}')")
{
  echo "## Session stores (\`bench/sessions.sh\`)"
  echo
  echo "Written on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores. One cycle is create + load + save + delete of a"
  echo "~256-byte session (4 store operations); figures are store operations per second over ${SECONDS_EACH} s."
  echo
  echo "| store | 1 task | 32 tasks |"
  echo "| --- | --- | --- |"
  cat "$work/rows"
  echo
  echo "Reference, same private redis-server in the same run: \`redis-benchmark -c 32 -d 256 -t set,get\`"
  echo "(no pipelining): SET $SET/s, GET $GET/s, mean $REF/s. The Redis store at 32 tasks: $R_redis ops/s,"
  echo "**$ratio×** the reference (target ≥ 0.5)."
} > "$work/section.md"
replace_section sessions "$work/section.md"
cat "$work/section.md"
