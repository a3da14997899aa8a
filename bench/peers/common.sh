# shellcheck shell=bash disable=SC2034 # many variables are read only by render(), by name
# bench/peers/common.sh: what every peer script shares, sourced by each of them.
#
# Every server runs on 127.0.0.1 on a fixed port (below; each can be set in the environment),
# keeps its files in $STATE/<name>/ (config rendered from the template next to the script, logs,
# mail, databases) and its pid in $STATE/<name>.pid. Each is started in a session of its own
# (setsid), so its pid is also its process group: `stop` sends SIGTERM to that pid, waits up to
# 5 s, then SIGKILLs the group. Nothing is ever killed by name.
set -euo pipefail

PEERS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$PEERS/../.." && pwd)
STATE=${CORVID_PEERS_DIR:-/tmp/corvid-peers}
CORVID=${CORVID:-$REPO/target/release/corvid}
# The proxies under test run on PEER_CPU; the backend (and the load generator) on BACKEND_CPU.
PEER_CPU=${PEER_CPU:-0}
BACKEND_CPU=${BACKEND_CPU:-1}

# The one end user of every bench, and the backend's master user (logs in as any end user).
BENCH_USER=${BENCH_USER:-bench}
BENCH_PASSWORD=${BENCH_PASSWORD:-bench-pw}
MASTER_USER=proxy
MASTER_PASSWORD=proxypass

BACKEND_PORT=${BACKEND_PORT:-17143}
NGINX_PORT=${NGINX_PORT:-17144}
NGINX_TLS_PORT=${NGINX_TLS_PORT:-17994}
AUTH_HTTP_PORT=${AUTH_HTTP_PORT:-17180}
DOVECOT_PROXY_PORT=${DOVECOT_PROXY_PORT:-17145}
DOVECOT_PROXY_TLS_PORT=${DOVECOT_PROXY_TLS_PORT:-17995}
CYRUS_PORT=${CYRUS_PORT:-17146}
CYRUS_TLS_PORT=${CYRUS_TLS_PORT:-17996}
CYRUS_MUPDATE_PORT=${CYRUS_MUPDATE_PORT:-17905}
CORVID_PORT=${CORVID_PORT:-17148}
CORVID_TLS_PORT=${CORVID_TLS_PORT:-17998}
CORVID_MUPDATE_PORT=${CORVID_MUPDATE_PORT:-17906}
CORVID_ADMIN_PORT=${CORVID_ADMIN_PORT:-17149}
# Executors of corvid's proxy (corvid.sh).
CORVID_CORES=${CORVID_CORES:-1}

# The file descriptors each server may hold (a session is one or two).
ulimit -n 20000

log() { echo "peers: $*" >&2; }
die() { log "$*"; exit 1; }

# render TEMPLATE OUT: copies TEMPLATE to OUT with every @NAME@ replaced by $NAME.
render() {
    local text name
    text=$(<"$1")
    for name in $(grep -o '@[A-Z_]*@' "$1" | sort -u | tr -d @); do
        [ -n "${!name+set}" ] || die "$1: @$name@ is not set"
        text=${text//@$name@/${!name}}
    done
    printf '%s\n' "$text" >"$2"
}

# greets PORT: whether something on 127.0.0.1:PORT sends an IMAP greeting within 2 s.
greets() {
    local line
    { exec 9<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
    read -r -t 2 line <&9 || line=""
    exec 9<&- 9>&-
    [[ $line == "* OK"* || $line == "* PREAUTH"* ]]
}

# listening PORT: whether 127.0.0.1:PORT accepts a connection.
listening() {
    { (exec 9<>"/dev/tcp/127.0.0.1/$1"); } 2>/dev/null
}

# wait_for NAME CHECK PORT: waits (20 s at most) until `CHECK PORT` succeeds while NAME runs.
wait_for() {
    local name=$1 check=$2 port=$3
    for _ in $(seq 200); do
        "$check" "$port" && return 0
        running "$name" || die "$name exited while starting; its logs: $STATE/$name/"
        sleep 0.1
    done
    die "$name not ready on 127.0.0.1:$port after 20 s; its logs: $STATE/$name/"
}

pidfile() { echo "$STATE/$1.pid"; }

# running NAME: whether NAME's pid file names a live process.
running() {
    local pid
    pid=$(cat "$(pidfile "$1")" 2>/dev/null) || return 1
    kill -0 "$pid" 2>/dev/null
}

# spawn NAME CPU COMMAND...: starts COMMAND pinned to CPU, in a session of its own, output to
# $STATE/NAME/stderr.log, and writes its pid file.
spawn() {
    local name=$1 cpu=$2
    shift 2
    running "$name" && die "$name already runs (pid $(cat "$(pidfile "$name")"))"
    taskset -c "$cpu" setsid "$@" </dev/null >>"$STATE/$name/stderr.log" 2>&1 &
    echo $! >"$(pidfile "$name")"
}

# stop_pid NAME: SIGTERM to NAME's pid, up to 5 s, then SIGKILL to its process group.
stop_pid() {
    local name=$1 file pid
    file=$(pidfile "$name")
    pid=$(cat "$file" 2>/dev/null) || return 0
    if kill -TERM "$pid" 2>/dev/null; then
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$file"
    log "$name stopped"
}

# fresh_dir NAME: an empty $STATE/NAME/ (the old one removed).
fresh_dir() {
    mkdir -p "$STATE"
    rm -rf "${STATE:?}/$1"
    mkdir -p "$STATE/$1"
}

# tls_files: a self-signed ECDSA P-256 certificate for 127.0.0.1 and localhost, made once, in
# $STATE/tls/{cert,key}.pem (every TLS listener of the peers uses it).
TLS_CERT=$STATE/tls/cert.pem
TLS_KEY=$STATE/tls/key.pem
tls_files() {
    [ -s "$TLS_CERT" ] && [ -s "$TLS_KEY" ] && return 0
    mkdir -p "$STATE/tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
        -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$TLS_KEY" -out "$TLS_CERT" 2>/dev/null
    chmod 644 "$TLS_KEY" "$TLS_CERT"
}

# main START_FN STOP_FN "$@": the command line of every peer script. A start that fails
# stops whatever it had started.
main() {
    local start=$1 stop=$2
    shift 2
    case "${1:-}" in
        start)
            # shellcheck disable=SC2064 # $stop is expanded now, on purpose
            trap "$stop" EXIT
            "$start"
            trap - EXIT
            ;;
        stop) "$stop" ;;
        *) echo "usage: $0 start|stop" >&2; exit 2 ;;
    esac
}
