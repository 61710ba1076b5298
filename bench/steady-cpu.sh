#!/bin/bash
# One Tandem server (from checkout <repo>, built) under one steady load: CPU per delivery from
# /proc/<pid>/stat over 5 s after a 6 s warm-up, and the load generator's p99. For side-by-side checks
# of one change (alternate two checkouts or two flag sets several times; single runs are noise).
# usage: bench/steady-cpu.sh <repo> <port> <rooms> <clients> <rate> <edit|awareness> [tandem serve flags...]
set -eu
R=$1; P=$2; ROOMS=$3; CL=$4; RATE=$5; MODE=$6; shift 6
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$R"
node packages/server/bin/tandem.mjs serve --data-dir /tmp/scen-data-$P --port $P --log-level warn --max-connections-per-ip 0 --max-rooms-per-ip 0 --max-updates-per-second 10000 --update-burst 10000 --max-awareness-per-second 10000 --awareness-burst 10000 "$@" > /dev/null 2>&1 &
PID=$!
sleep 2
cd "$HERE" && node --conditions=source --import tsx src/loadgen.ts "{\"target\":\"tandem\",\"bases\":[\"ws://127.0.0.1:$P\"],\"rooms\":$ROOMS,\"clientsPerRoom\":$CL,\"rate\":$RATE,\"mode\":\"$MODE\",\"warmupMs\":3000,\"durationMs\":7000}" > /tmp/scen-lg-$P.json 2>&1 &
LG=$!
sleep 6
read -r u1 s1 < <(awk '{print $14, $15}' /proc/$PID/stat)
sleep 5
read -r u2 s2 < <(awk '{print $14, $15}' /proc/$PID/stat)
wait $LG
kill $PID; sleep 0.5; rm -rf /tmp/scen-data-$P
DEL=$(echo "$ROOMS*$CL*$RATE*($CL-1)*5" | bc)
P99=$(grep -o '"p99":[0-9.]*' /tmp/scen-lg-$P.json | head -1 | cut -d: -f2)
echo "$R $* cpu $(echo "scale=2; ($u2-$u1+$s2-$s1)*10000/$DEL" | bc) (user $(echo "scale=2; ($u2-$u1)*10000/$DEL" | bc)) µs/delivery p99 ${P99:0:5}"
