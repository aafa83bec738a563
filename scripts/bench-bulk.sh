#!/bin/sh
# Measures a bulk import and a bulk export through a real hub:
#
#   scripts/bench-bulk.sh [ROWS] [DATABASE]
#
# builds banyan, writes a ROWS-row CSV (default 1,000,000), starts a hub on
# 127.0.0.1:18080 (SQLite in a temporary folder, or DATABASE, a postgres://
# URL of a database of its own, which psql takes too), imports the file with
# 'banyan import', settles every task straight in the database (settling a
# million tasks through the API is not what this measures), restarts the
# hub and exports every result as CSV with 'banyan export'. It prints each
# step's wall time, and the hub's peak memory (VmHWM) and CPU time for
# each half.
# Needs curl, jq, and psql for PostgreSQL or python3 for SQLite.
#
# BANYAN_BIN, if set, names a banyan binary to measure instead of building
# one from this tree (to compare two builds).
set -eu
rows=${1:-1000000}
db=${2:-}
dir=$(mktemp -d /tmp/banyan-bulk-XXXXXX)
trap 'kill $hub 2>/dev/null || true; rm -rf "$dir"' EXIT
hub=
bin=${BANYAN_BIN:-}
if [ -z "$bin" ]; then
	go build -o "$dir/banyan" ./cmd/banyan
	bin=$dir/banyan
fi
awk -v n="$rows" 'BEGIN { print "external_id,text"; for (i = 0; i < n; i++) printf "p%d,post number %d with a few words to moderate %d\n", i, i, (i * 7919) % 1000003 }' > "$dir/rows.csv"
set -- --data "$dir"
[ -n "$db" ] && set -- "$@" --db "$db"
"$bin" admin init "$@" > "$dir/init.txt" 2>&1
token=$(grep -o 'bny_[A-Za-z0-9_-]*' "$dir/init.txt" | head -1)
start() {
	"$bin" serve "$@" --addr 127.0.0.1:18080 > "$dir/serve.log" 2>&1 &
	hub=$!
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		curl -sf http://127.0.0.1:18080/readyz > /dev/null && return
		sleep 0.5
	done
	echo "the hub did not start; its log:" >&2
	cat "$dir/serve.log" >&2
	exit 1
}
stop() {
	grep VmHWM "/proc/$hub/status"
	awk -v hz="$(getconf CLK_TCK)" '{ printf "  hub CPU %.2f s (user + system)\n", ($14 + $15) / hz }' "/proc/$hub/stat"
	kill "$hub"
	wait "$hub" 2>/dev/null || true
}
start "$@"
api=http://127.0.0.1:18080/api/v1
client=$(curl -sf -H "Authorization: Bearer $token" -d '{"name":"bulk bench"}' $api/clients | jq -r .id)
project=$(curl -sf -H "Authorization: Bearer $token" -d "{\"client_id\":\"$client\",\"name\":\"posts\",\"kind\":\"classify\",\"schema\":{\"inputs\":[\"text\"],\"labels\":[\"ok\",\"spam\"]},\"overlap\":1}" $api/projects | jq -r .id)
echo "import of $rows rows ($(wc -c < "$dir/rows.csv") bytes):"
/usr/bin/time -o "$dir/time" -f "  wall %e s, client CPU %U + %S s, client peak RSS %M KB" "$bin" import "$dir/rows.csv" --hub http://127.0.0.1:18080 --token "$token" --project "$project" < /dev/null > /dev/null 2>&1
cat "$dir/time"
printf '  hub '; stop
settle="INSERT INTO results (task_id, project_id, batch_id, answer, confidence, answers, source, created_at)
	SELECT id, project_id, batch_id, '{\"label\":\"ok\"}', 0.97, 1, 'agreement', created_at FROM tasks;
	UPDATE tasks SET state = 'done';"
if [ -n "$db" ]; then
	psql -q "$db" -c "$settle ANALYZE;"
else
	python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' "$dir/banyan.db" "$settle"
fi
start "$@"
echo "export of $rows results:"
/usr/bin/time -o "$dir/time" -f "  wall %e s, client CPU %U + %S s, client peak RSS %M KB" "$bin" export --project "$project" --format csv --out "$dir/out.csv" --hub http://127.0.0.1:18080 --token "$token" < /dev/null > /dev/null 2>&1
cat "$dir/time"
got=$(($(wc -l < "$dir/out.csv") - 1))
echo "  $got results, $(wc -c < "$dir/out.csv") bytes"
printf '  hub '; stop
if [ "$got" -ne "$rows" ]; then
	echo "exported $got results of $rows" >&2
	exit 1
fi
