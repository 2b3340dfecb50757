#!/usr/bin/env bash
# Benchmark `cli seed` and `cli list` against the database's own bulk tools, side by side in
# one run, and write the table to BENCHMARKS.md. Every figure is the median of RUNS runs.
#
#   bench/run.sh                       # MariaDB: a private mariadbd on a free port, removed after
#   BENCH_MYSQL_URL=mysql://user:pass@127.0.0.1:3306/test bench/run.sh   # or a local server of yours
#
# Env: BENCH_MYSQL_URL (default: a private server this script starts, with its own data directory,
#        so the machine's shared server is never loaded; else a local server, a user that may
#        create databases),
#      ROWS (default 1000000), SMALL_ROWS (default 100000), RUNS (default 3, odd),
#      BIG_ROWS (default unset: skipped; e.g. 10000000 adds a scale column for both backends),
#      BIG_RUNS (default RUNS, odd; runs at BIG_ROWS, which take minutes each).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/section.sh

ROWS=${ROWS:-1000000}
SMALL_ROWS=${SMALL_ROWS:-100000}
RUNS=${RUNS:-3}
BIG_ROWS=${BIG_ROWS:-}
BIG_RUNS=${BIG_RUNS:-$RUNS}
if [ "$RUNS" -lt 3 ] || [ $((RUNS % 2)) -eq 0 ]; then
  echo "error: RUNS must be an odd number of at least 3, not $RUNS" >&2; exit 2
fi
if [ -n "$BIG_ROWS" ] && { [ "$BIG_RUNS" -lt 1 ] || [ $((BIG_RUNS % 2)) -eq 0 ]; }; then
  echo "error: BIG_RUNS must be an odd number, not $BIG_RUNS" >&2; exit 2
fi

work=$(mktemp -d)
private_pid=""
mysql_where="the server BENCH_MYSQL_URL names"
cleanup() {
  if [ -n "$private_pid" ]; then
    kill "$private_pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$private_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT
chmod 755 "$work"   # the private mariadbd runs as mysql and must enter its data directory

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# A private mariadbd on a free port with its own data directory (1 GiB buffer pool, so a 10M-row
# table fits and both cli and LOAD DATA meet the same warm server).
start_private_mariadb() {
  local d=$work/mariadb port
  port=$(free_port)
  mkdir -p "$d/data"
  printf '%s\n' '[mysqld]' user=mysql "datadir=$d/data" "socket=$d/mysqld.sock" "pid-file=$d/mysqld.pid" \
    "log-error=$d/error.log" "port=$port" bind-address=127.0.0.1 skip-name-resolve local-infile=1 \
    innodb_buffer_pool_size=1G innodb_log_file_size=256M > "$d/my.cnf"
  chown -R mysql:mysql "$d"
  mariadb-install-db --defaults-file="$d/my.cnf" --auth-root-authentication-method=normal --skip-test-db > "$d/install.log" 2>&1 \
    || { echo "error: mariadb-install-db failed; see below" >&2; cat "$d/install.log" >&2; exit 1; }
  /usr/sbin/mariadbd --defaults-file="$d/my.cnf" > /dev/null 2>&1 &
  private_pid=$!
  for _ in $(seq 300); do mariadb -S "$d/mysqld.sock" -uroot -e 'SELECT 1' > /dev/null 2>&1 && break; sleep 0.1; done
  mariadb -S "$d/mysqld.sock" -uroot -e "CREATE USER 'bench'@'127.0.0.1' IDENTIFIED BY 'bench-pw';
    GRANT ALL ON *.* TO 'bench'@'127.0.0.1'; CREATE DATABASE test" \
    || { echo "error: the private mariadbd did not come up; its log:" >&2; cat "$d/error.log" >&2; exit 1; }
  BENCH_MYSQL_URL="mysql://bench:bench-pw@127.0.0.1:$port/test"
  mysql_where="a private mariadbd the script started (1 GiB buffer pool)"
  echo "MariaDB: a private server on 127.0.0.1:$port" >&2
}
if [ -z "${BENCH_MYSQL_URL:-}" ]; then start_private_mariadb; fi

# Split the URL without ever printing the password.
read -r M_USER M_PASS M_HOST M_PORT < <(python3 - "$BENCH_MYSQL_URL" <<'PY'
import sys, urllib.parse as u
p = u.urlparse(sys.argv[1])
print(u.unquote(p.username or "root"), u.unquote(p.password or ""), p.hostname or "", p.port or 3306)
PY
)
case "$M_HOST" in
  127.0.0.1|localhost|::1) ;;
  *) echo "error: refusing to benchmark against non-local host \`$M_HOST\`; use 127.0.0.1" >&2; exit 2 ;;
esac

# Option-file values are quoted: unquoted, a `#` in a password starts a comment.
optval() { local v=${1//\\/\\\\}; printf '"%s"' "${v//\"/\\\"}"; }
(umask 077; printf '[client]\nuser=%s\npassword=%s\nhost=%s\nport=%s\nlocal-infile=1\n' \
  "$(optval "$M_USER")" "$(optval "$M_PASS")" "$M_HOST" "$M_PORT" > "$work/my.cnf")
DB=cli_bench
my() { mariadb --defaults-extra-file="$work/my.cnf" "$@"; }
MYSQL_URL_DB=$(python3 - "$BENCH_MYSQL_URL" "$DB" <<'PY'
import sys, urllib.parse as u
p = u.urlparse(sys.argv[1]); print(u.urlunparse(p._replace(path="/" + sys.argv[2])))
PY
)
SQLITE_FILE="$work/bench.db"
SQLITE_URL="sqlite://$SQLITE_FILE?mode=rwc"

echo "building cli (release)…" >&2
cargo build --release -q -p cli
CLI=$PWD/target/release/cli

now() { date +%s.%N; }
# timed FILE CMD…: runs CMD (its output goes where the caller sends it), appends its wall
# seconds to FILE.
timed() { local f=$1 t0; shift; t0=$(now); "$@"; python3 -c "print(f'{$(now) - $t0:.3f}')" >> "$f"; }
# cli_run OUT ARGS…: runs cli under /usr/bin/time, prints "seconds maxrss_kib".
cli_run() {
  local out=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$CLI" "$@" > "$out"
  cat "$work/time"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[(NR+1)/2]}'; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

mysql_fresh() {
  my -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB"
  DATABASE_URL=$MYSQL_URL_DB "$CLI" create-tables > /dev/null
}
sqlite_fresh() { rm -f "$SQLITE_FILE"*; DATABASE_URL=$SQLITE_URL "$CLI" create-tables > /dev/null; }

declare -A R
bench_backend() { # bench_backend mysql|sqlite N RUNS
  local kind=$1 n=$2 runs=$3 url
  if [ "$kind" = mysql ]; then url=$MYSQL_URL_DB; else url=$SQLITE_URL; fi
  : > "$work/seed"; : > "$work/ref_seed"; : > "$work/list"; : > "$work/ref_list"
  : > "$work/seed_rss"; : > "$work/list_rss"
  for run in $(seq "$runs"); do
    echo "  $kind $n rows, run $run/$runs" >&2
    "${kind}_fresh"
    DATABASE_URL=$url cli_run /dev/null seed --count "$n" --seed "$run" > "$work/cli_time"  # a failed run stops the script
    read -r s rss < "$work/cli_time"
    echo "$s" >> "$work/seed"; echo "$rss" >> "$work/seed_rss"
    DATABASE_URL=$url "$CLI" list --format csv > "$work/rows.csv"
    DATABASE_URL=$url cli_run /dev/null list --format csv > "$work/cli_time"  # a failed run stops the script
    read -r s rss < "$work/cli_time"
    echo "$s" >> "$work/list"; echo "$rss" >> "$work/list_rss"
    if [ "$kind" = mysql ]; then
      my "$DB" -e "DROP TABLE IF EXISTS twin; CREATE TABLE twin LIKE student"
      timed "$work/ref_seed" my "$DB" -e "LOAD DATA LOCAL INFILE '$work/rows.csv' INTO TABLE twin CHARACTER SET utf8mb4
        FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' IGNORE 1 LINES (id, s_name, s_age, s_score)"
      [ "$(my -N "$DB" -e 'SELECT COUNT(*) FROM twin')" = "$n" ] || { echo "error: LOAD DATA loaded a different row count" >&2; exit 1; }
      timed "$work/ref_list" my -B "$DB" -e 'SELECT * FROM student' > /dev/null
    else
      local schema
      schema=$(sqlite3 "$SQLITE_FILE" ".schema student" | sed 's/"student"/"twin"/; s/IF NOT EXISTS //')
      timed "$work/ref_seed" sqlite3 "$SQLITE_FILE" "CREATE TEMP TABLE imp(id, s_name, s_age, s_score);" \
        ".import --csv --skip 1 $work/rows.csv imp" "$schema" "INSERT INTO twin SELECT * FROM imp;"
      [ "$(sqlite3 "$SQLITE_FILE" 'SELECT COUNT(*) FROM twin')" = "$n" ] || { echo "error: sqlite3 imported a different row count" >&2; exit 1; }
      timed "$work/ref_list" sqlite3 "$SQLITE_FILE" 'SELECT * FROM student' > /dev/null
    fi
  done
  R[$kind.$n.seed]=$(median < "$work/seed")
  R[$kind.$n.ref_seed]=$(median < "$work/ref_seed")
  R[$kind.$n.list]=$(median < "$work/list")
  R[$kind.$n.ref_list]=$(median < "$work/ref_list")
  R[$kind.$n.seed_rss]=$(median < "$work/seed_rss")
  R[$kind.$n.list_rss]=$(median < "$work/list_rss")
}

for kind in mysql sqlite; do
  for n in "$SMALL_ROWS" "$ROWS"; do bench_backend "$kind" "$n" "$RUNS"; done
  if [ -n "$BIG_ROWS" ]; then bench_backend "$kind" "$BIG_ROWS" "$BIG_RUNS"; fi
  # Frees the server's disk (gigabytes at BIG_ROWS) before the SQLite runs.
  if [ "$kind" = mysql ]; then my -e "DROP DATABASE IF EXISTS $DB"; fi
done

mib() { python3 -c "print(f'{$1 / 1024:.1f}')"; }
server=$(my -N -e 'SELECT VERSION()')
sqlite_version=$(sqlite3 --version | cut -d' ' -f1)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
mem=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')
N=$ROWS S=$SMALL_ROWS B=$BIG_ROWS
{
  echo "## Seed and list (\`bench/run.sh\`)"
  echo
  echo "Written by \`bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'): MariaDB $server on $mysql_where,"
  echo "SQLite $sqlite_version,"
  big_runs=""
  [ -z "$B" ] || [ "$BIG_RUNS" = "$RUNS" ] || big_runs=" ($BIG_RUNS at $B rows)"
  echo "$(nproc) cores ($cpu), $mem. Each figure is the median of $RUNS runs$big_runs in this one run;"
  echo "ratios compare \`cli\` with the database's own tool on the very same rows."
  echo
  echo "| figure | cli | reference | ratio | target |"
  echo "| --- | --- | --- | --- | --- |"
  echo "| MariaDB seed $N / LOAD DATA LOCAL INFILE | ${R[mysql.$N.seed]} s | ${R[mysql.$N.ref_seed]} s | $(ratio "${R[mysql.$N.seed]}" "${R[mysql.$N.ref_seed]}") | ≤ 1.25 |"
  echo "| MariaDB list $N (csv) / \`mariadb -B\` | ${R[mysql.$N.list]} s | ${R[mysql.$N.ref_list]} s | $(ratio "${R[mysql.$N.list]}" "${R[mysql.$N.ref_list]}") | ≤ 1.2 |"
  echo "| SQLite seed $N / \`sqlite3\` .import + INSERT…SELECT | ${R[sqlite.$N.seed]} s | ${R[sqlite.$N.ref_seed]} s | $(ratio "${R[sqlite.$N.seed]}" "${R[sqlite.$N.ref_seed]}") | ≤ 1.2 |"
  echo "| SQLite list $N (csv) / \`sqlite3\` SELECT * | ${R[sqlite.$N.list]} s | ${R[sqlite.$N.ref_list]} s | $(ratio "${R[sqlite.$N.list]}" "${R[sqlite.$N.ref_list]}") | ≤ 2.0 |"
  if [ -n "$B" ]; then
    echo "| MariaDB seed $B / LOAD DATA LOCAL INFILE | ${R[mysql.$B.seed]} s | ${R[mysql.$B.ref_seed]} s | $(ratio "${R[mysql.$B.seed]}" "${R[mysql.$B.ref_seed]}") | ≤ 1.25 |"
    echo "| MariaDB list $B (csv) / \`mariadb -B\` | ${R[mysql.$B.list]} s | ${R[mysql.$B.ref_list]} s | $(ratio "${R[mysql.$B.list]}" "${R[mysql.$B.ref_list]}") | ≤ 1.2 |"
    echo "| SQLite seed $B / \`sqlite3\` .import + INSERT…SELECT | ${R[sqlite.$B.seed]} s | ${R[sqlite.$B.ref_seed]} s | $(ratio "${R[sqlite.$B.seed]}" "${R[sqlite.$B.ref_seed]}") | ≤ 1.2 |"
    echo "| SQLite list $B (csv) / \`sqlite3\` SELECT * | ${R[sqlite.$B.list]} s | ${R[sqlite.$B.ref_list]} s | $(ratio "${R[sqlite.$B.list]}" "${R[sqlite.$B.ref_list]}") | ≤ 2.0 |"
  fi
  echo
  echo "Peak resident memory of each \`cli\` run (\`/usr/bin/time\`, MiB); target ≤ 32 MiB at $N rows and no more than at $S + 4 MiB:"
  echo
  echo "| run | $S rows | $N rows |${B:+ $B rows |}"
  echo "| --- | --- | --- |${B:+ --- |}"
  for kind in mysql sqlite; do
    for op in seed list; do
      big=${B:+ $(mib "${R[$kind.$B.${op}_rss]}") |}
      echo "| $kind $op | $(mib "${R[$kind.$S.${op}_rss]}") | $(mib "${R[$kind.$N.${op}_rss]}") |$big"
    done
  done
} > "$work/section.md"
replace_section seed-list "$work/section.md"
cat "$work/section.md"
