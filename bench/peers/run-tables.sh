#!/usr/bin/env bash
# bench/peers/run-tables.sh: regenerates docs/benchmarking-tables.md, the side-by-side tables of
# issue 7, in one run (about 10 minutes; as root; ci/install-peers --nginx once; the release
# build of corvid: cargo build --release).
#
# It starts the backend (backend.sh) and every peer in front of it (corvid.sh with 1 core and a
# second corvid with 2, nginx.sh, dovecot-proxy.sh, cyrus-frontend.sh), then runs `corvid bench`
# once per table, every peer in the same run (--compare: interleaved rounds, the peers taking
# turns), each with --pid (its process tree's CPU time and memory). The proxies run on CPU 0;
# the load generator, the backend and the masters on CPU 1. tables.py turns the JSON reports
# into the Markdown page (medians of rounds). Every server started is stopped on exit, also on
# failure or Ctrl-C. The JSON and text reports stay in $STATE/results/.
#
# Environment: PHASE (measured time per target and run, 5 rounds; default 10s), IDLE_SESSIONS
# (sessions held per proxy for the memory table; default 1000), CYRUS_IDLE_SESSIONS (the same
# for Cyrus, default 30: it forks an imapd per connection, and of 100 sessions opened at once
# it did not accept all within the bench's 30 s), OUT (the page).
source "$(dirname "$0")/common.sh"
PHASE=${PHASE:-10s}
IDLE_SESSIONS=${IDLE_SESSIONS:-1000}
CYRUS_IDLE_SESSIONS=${CYRUS_IDLE_SESSIONS:-30}
OUT=${OUT:-$REPO/docs/benchmarking-tables.md}
RESULTS=$STATE/results
BENCH_CPU=$BACKEND_CPU
PROXIES=(corvid nginx dovecot-proxy cyrus-frontend)
# The second corvid, 2 executors (CPUs 0 and 1), for the scaling table.
TWO_CORES=(env CORVID_NAME=corvid-2cores CORVID_CORES=2 CORVID_PORT=17158 CORVID_TLS_PORT=18008
           CORVID_MUPDATE_PORT=17916 CORVID_ADMIN_PORT=17159)

# The address of a target: NAME (plain) or NAME/tls.
address() {
    case "$1" in
        backend) echo "127.0.0.1:$BACKEND_PORT" ;;
        corvid) echo "127.0.0.1:$CORVID_PORT" ;;
        corvid/tls) echo "tls://127.0.0.1:$CORVID_TLS_PORT" ;;
        corvid-2cores) echo "127.0.0.1:17158" ;;
        nginx) echo "127.0.0.1:$NGINX_PORT" ;;
        nginx/tls) echo "tls://127.0.0.1:$NGINX_TLS_PORT" ;;
        dovecot-proxy) echo "127.0.0.1:$DOVECOT_PROXY_PORT" ;;
        dovecot-proxy/tls) echo "tls://127.0.0.1:$DOVECOT_PROXY_TLS_PORT" ;;
        cyrus-frontend) echo "127.0.0.1:$CYRUS_PORT" ;;
        cyrus-frontend/tls) echo "tls://127.0.0.1:$CYRUS_TLS_PORT" ;;
        *) die "no target $1" ;;
    esac
}

stop_all() {
    set +e
    "${TWO_CORES[@]}" "$PEERS/corvid.sh" stop
    local peer
    for peer in cyrus-frontend dovecot-proxy nginx corvid backend; do "$PEERS/$peer.sh" stop; done
}

# bench RUN [/tls] TARGET... -- BENCH-FLAGS...: one `corvid bench` run, RUN.json and RUN.txt in
# $RESULTS, its command line (pids as <name>) in RUN.cmd.
bench() {
    local run=$1 suffix="" target first=1
    shift
    if [ "$1" = /tls ]; then suffix=/tls; shift; fi
    local args=() shown=()
    while [ "$1" != -- ]; do
        target=$1
        shift
        local flag=--compare
        [ $first = 1 ] && flag=--target && first=0
        local addr
        addr=$(address "$target$suffix" 2>/dev/null || address "$target")
        args+=("$flag" "$addr" --pid "$(cat "$(pidfile "$target")")")
        shown+=("$flag" "$addr" --pid "<$target>")
    done
    shift
    args+=("$@" --user "$BENCH_USER" --cores "$BENCH_CPU" --json "$RESULTS/$run.json")
    shown+=("$@" --user "$BENCH_USER" --cores "$BENCH_CPU")
    echo "corvid bench ${shown[*]}" >"$RESULTS/$run.cmd"
    log "run $run: corvid bench ${shown[*]}"
    # --cores pins the load generator's executor (a taskset around it would hide the other CPUs).
    CORVID_BENCH_PASSWORD=$BENCH_PASSWORD "$CORVID" bench "${args[@]}" \
        >"$RESULTS/$run.txt" 2>"$RESULTS/$run.progress" ||
        { cat "$RESULTS/$run.txt" >&2; die "run $run failed (see $RESULTS/$run.progress)"; }
}

main_run() {
    [ "$(id -u)" = 0 ] || die "run as root (Dovecot and Cyrus switch users)"
    [ -x "$CORVID" ] || die "$CORVID is missing: cargo build --release"
    trap stop_all EXIT
    trap 'exit 130' INT TERM
    # io_uring's rings and buffers count against the locked-memory limit.
    ulimit -l 8192
    rm -rf "$RESULTS"
    mkdir -p "$RESULTS"
    "$PEERS/backend.sh" start
    "$PEERS/corvid.sh" start
    "${TWO_CORES[@]}" "$PEERS/corvid.sh" start
    "$PEERS/nginx.sh" start
    "$PEERS/dovecot-proxy.sh" start
    "$PEERS/cyrus-frontend.sh" start
    local started
    started=$(date +%s)
    cut -d' ' -f1-3 /proc/loadavg >"$RESULTS/loadavg-start"

    # Cyrus in runs of its own, with fewer sessions (see CYRUS_IDLE_SESSIONS above).
    local idle=(--duration 2s --warmup 1s --rounds 1)
    bench idle-plain corvid nginx dovecot-proxy -- idle-hold --sessions "$IDLE_SESSIONS" "${idle[@]}"
    bench idle-tls /tls corvid nginx dovecot-proxy -- idle-hold --sessions "$IDLE_SESSIONS" "${idle[@]}"
    bench idle-plain-cyrus cyrus-frontend -- idle-hold --sessions "$CYRUS_IDLE_SESSIONS" "${idle[@]}"
    bench idle-tls-cyrus /tls cyrus-frontend -- idle-hold --sessions "$CYRUS_IDLE_SESSIONS" "${idle[@]}"
    bench relay-1 "${PROXIES[@]}" backend -- relay --sessions 1 --duration "$PHASE" --warmup 1s
    bench relay-32 "${PROXIES[@]}" backend -- relay --sessions 32 --duration "$PHASE" --warmup 1s
    bench login-plain "${PROXIES[@]}" -- login --sessions 8 --duration "$PHASE" --warmup 1s
    bench login-tls /tls "${PROXIES[@]}" -- login --sessions 8 --duration "$PHASE" --warmup 1s
    # Open loop at half of corvid's maximum relay rate (the median of its 32-session rounds).
    local rate
    rate=$(python3 "$PEERS/tables.py" --half-rate "$RESULTS/relay-32.json")
    bench latency backend "${PROXIES[@]}" -- relay --sessions 32 --rate "$rate" \
        --duration "$PHASE" --warmup 1s
    bench scaling corvid corvid-2cores -- relay --sessions 64 --duration "$PHASE" --warmup 1s

    cut -d' ' -f1-3 /proc/loadavg >"$RESULTS/loadavg-end"
    python3 "$PEERS/tables.py" --results "$RESULTS" --out "$OUT" \
        --seconds $(($(date +%s) - started)) --idle-sessions "$IDLE_SESSIONS" \
        --cyrus-idle-sessions "$CYRUS_IDLE_SESSIONS"
    log "wrote $OUT"
}

main_run "$@"
