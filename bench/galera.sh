#!/usr/bin/env bash
# MariaDB Galera (issue 10): `cli seed` of ROWS rows into a private 3-node cluster and into a
# private single mariadbd with the same settings minus wsrep, the ratio cluster/single, then
# two seeds of ROWS/2 each on two nodes at once with the retries they needed. Writes the
# "galera" section of BENCHMARKS.md.
#
#   bench/galera.sh              # ROWS=1000000 RUNS=3
#   ROWS=200000 RUNS=1 bench/galera.sh
# Never loads the shared servers: every mariadbd here is private, on free ports, in $work.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/section.sh

ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { for _ in $(seq "${2:-100}"); do eval "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "not ready: $1" >&2; return 1; }
root() { mariadb --no-defaults --socket="$1" -uroot -N -B -e "$2"; }

echo "building cli (release)…" >&2
cargo build --release -q -p cli
CLI=$PWD/target/release/cli
PW=bench-pw

# The settings both servers share; the cluster adds wsrep.
common() { # common DIR PORT
  printf '%s\n' '[mysqld]' user=mysql "datadir=$1/data" "socket=$1/mysqld.sock" "pid-file=$1/mysqld.pid" \
    "log-error=$1/error.log" "port=$2" bind-address=127.0.0.1 skip-name-resolve innodb_buffer_pool_size=256M \
    innodb_log_file_size=64M binlog_format=ROW innodb_autoinc_lock_mode=2
}

# Single server.
S="$work/single"; mkdir -p "$S/data"; SP=$(free_port)
common "$S" "$SP" > "$S/my.cnf"
chown -R mysql:mysql "$S"
mariadb-install-db --defaults-file="$S/my.cnf" --auth-root-authentication-method=normal --skip-test-db >/dev/null
/usr/sbin/mariadbd --defaults-file="$S/my.cnf" >/dev/null 2>&1 & pids+=($!)
wait_for "root $S/mysqld.sock 'SELECT 1'" 300
root "$S/mysqld.sock" "CREATE USER 'app'@'%' IDENTIFIED BY '$PW'; GRANT ALL ON *.* TO 'app'@'%'"

# Cluster: node 1 bootstraps, 2 and 3 join by rsync SST one at a time.
G="$work/galera"; declare -A P
for i in 1 2 3; do for k in sql gc ist sst; do P[$k$i]=$(free_port); done; done
for i in 1 2 3; do N="$G/n$i"; mkdir -p "$N/data"
  { common "$N" "${P[sql$i]}"
    printf '%s\n' wsrep_on=ON wsrep_provider=/usr/lib/galera/libgalera_smm.so wsrep_cluster_name=bench_galera \
      "wsrep_cluster_address=gcomm://127.0.0.1:${P[gc1]},127.0.0.1:${P[gc2]},127.0.0.1:${P[gc3]}" "wsrep_node_name=n$i" \
      wsrep_node_address=127.0.0.1 "wsrep_node_incoming_address=127.0.0.1:${P[sql$i]}" \
      "wsrep_provider_options=\"gmcast.listen_addr=tcp://127.0.0.1:${P[gc$i]};ist.recv_addr=127.0.0.1:${P[ist$i]};gcache.size=128M\"" \
      wsrep_sst_method=rsync "wsrep_sst_receive_address=127.0.0.1:${P[sst$i]}"
  } > "$N/my.cnf"
done
chown -R mysql:mysql "$G"
mariadb-install-db --defaults-file="$G/n1/my.cnf" --auth-root-authentication-method=normal --skip-test-db >/dev/null
synced() { root "$G/n$1/mysqld.sock" "SHOW STATUS LIKE 'wsrep_local_state_comment'" | grep -q Synced; }
for i in 1 2 3; do
  extra=(); [ "$i" = 1 ] && extra=(--wsrep-new-cluster)
  /usr/sbin/mariadbd --defaults-file="$G/n$i/my.cnf" "${extra[@]}" >/dev/null 2>&1 & pids+=($!)
  wait_for "synced $i" 600
done
root "$G/n1/mysqld.sock" "CREATE USER 'app'@'%' IDENTIFIED BY '$PW'; GRANT ALL ON *.* TO 'app'@'%'"

url() { echo "mysql://app:$PW@127.0.0.1:$1/$2"; }
# seed_secs PORT SOCKET DB → seconds of one `cli seed -n ROWS` into a fresh database
seed_secs() {
  root "$2" "DROP DATABASE IF EXISTS $3; CREATE DATABASE $3"
  "$CLI" --database-url "$(url "$1" "$3")" create-tables >/dev/null
  local t0 t1
  t0=$(date +%s.%N)
  "$CLI" --database-url "$(url "$1" "$3")" seed --count "$ROWS" >/dev/null
  t1=$(date +%s.%N)
  # Not timed: the other nodes apply the rows after node 1 commits; let them finish (causal
  # read) and drop the database, so the next measurement does not share the CPU with them.
  if [ "$2" != "$S/mysqld.sock" ]; then
    for i in 2 3; do root "$G/n$i/mysqld.sock" "SET SESSION wsrep_sync_wait = 1; SELECT COUNT(*) FROM $3.student" >/dev/null; done
  fi
  root "$2" "DROP DATABASE $3"
  python3 -c "print(f'{$t1 - $t0:.2f}')"
}
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

single=(); cluster=()
for r in $(seq "$RUNS"); do
  single+=("$(seed_secs "$SP" "$S/mysqld.sock" s$r)")
  cluster+=("$(seed_secs "${P[sql1]}" "$G/n1/mysqld.sock" g$r)")
  echo "  run $r: single ${single[-1]}s, cluster ${cluster[-1]}s" >&2
done
S_MED=$(median "${single[@]}"); G_MED=$(median "${cluster[@]}")
RATIO=$(python3 -c "print(f'{$G_MED / $S_MED:.2f}')")

# Two seeds at once on nodes 1 and 2, ROWS/2 each: certification conflicts and retries.
HALF=$((ROWS / 2))
root "$G/n1/mysqld.sock" "DROP DATABASE IF EXISTS pair; CREATE DATABASE pair"
"$CLI" --database-url "$(url "${P[sql1]}" pair)" create-tables >/dev/null
t0=$(date +%s.%N)
"$CLI" --database-url "$(url "${P[sql1]}" pair)" seed --count "$HALF" > "$work/pair1" 2>&1 & d1=$!
"$CLI" --database-url "$(url "${P[sql2]}" pair)" seed --count "$HALF" > "$work/pair2" 2>&1 & d2=$!
wait "$d1" || { cat "$work/pair1" >&2; exit 1; }
wait "$d2" || { cat "$work/pair2" >&2; exit 1; }
t1=$(date +%s.%N)
PAIR=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
retries() { sed -n 's/.*retried \(once\).*/1/p; s/.*retried \([0-9]*\) times.*/\1/p' "$1" | head -n1; }
R1=$(retries "$work/pair1"); R2=$(retries "$work/pair2")
R1=${R1:-0}; R2=${R2:-0}
TOTAL=$(root "$G/n3/mysqld.sock" "SET SESSION wsrep_sync_wait = 1; SELECT COUNT(*) FROM pair.student")
echo "  two seeds at once: ${PAIR}s, retries $R1 + $R2, $TOTAL rows on node 3" >&2

{
  echo "## Galera: seed on a 3-node cluster vs a single server (bench/galera.sh)"
  echo
  echo "\`cli seed --count $ROWS\` (release build), median of $RUNS runs, into a private 3-node MariaDB"
  echo "$(/usr/sbin/mariadbd --version | awk '{print $3}') Galera cluster (galera-4, rsync SST, all nodes on this 2-core machine)"
  echo "and into a private single mariadbd with the same settings minus wsrep (buffer pool 256M,"
  echo "log file 64M, binlog ROW). Measured $(date -u +%Y-%m-%d)."
  echo
  echo "| target | seconds (median) | runs | rows/s |"
  echo "|---|---|---|---|"
  echo "| single mariadbd | $S_MED | ${single[*]} | $(python3 -c "print(round($ROWS / $S_MED))") |"
  echo "| 3-node Galera, seed on node 1 | $G_MED | ${cluster[*]} | $(python3 -c "print(round($ROWS / $G_MED))") |"
  echo
  echo "Cluster / single: **${RATIO}×**. The time is the command's: node 1 returns once the cluster has"
  echo "certified the transaction; nodes 2 and 3 apply it after (waited for, untimed, between runs)."
  echo
  echo "Two seeds of $HALF rows at once, on nodes 1 and 2: ${PAIR}s for both; transactions retried after"
  echo "certification conflicts: $R1 (node 1) + $R2 (node 2); $TOTAL rows on node 3 afterwards"
  echo "(exactly $((HALF * 2)) expected)."
} > "$work/section.md"
cat "$work/section.md"
replace_section galera "$work/section.md"
