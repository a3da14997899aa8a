#!/bin/sh
# The measurements behind tuning/README.md, in a network namespace of their own (its sysctls
# and its loopback; the host's values are not touched), against `corvid demo` in it:
#   1. kernel memory per idle session's socket, with the default tcp_rmem/tcp_wmem and with
#      small ones (`corvid bench idle-hold`, sockets read with `ss -tm`);
#   2. accept-queue overflows under a burst of connections, somaxconn 16 against 4096
#      (`corvid bench tls-handshake`, 500 sessions at once; nstat's ListenOverflows).
# As root: tuning/measure.sh [CORVID_BINARY]   (default target/release/corvid)
set -eu

corvid=$(realpath "${1:-target/release/corvid}")
ns=corvid-measure
dir=$(mktemp -d)
run() { ip netns exec "$ns" "$@"; }
sysctl_set() { run sh -c "echo '$2' > /proc/sys/$1"; }

demo_pid=
stop_demo() {
    [ -n "$demo_pid" ] && kill -INT "$demo_pid" 2>/dev/null || true
    for _ in $(seq 1 20); do [ -z "$(ip netns pids "$ns")" ] && break; sleep 1; done
    # A stopped server's listening socket outlives it until the kernel has torn down its ring.
    sleep 3
    demo_pid=
}
start_demo() {
    # `ip netns exec` execs the demo, so $! is the demo's pid.
    ip netns exec "$ns" "$corvid" demo --dir "$dir/demo" > "$dir/demo.out" 2>&1 &
    demo_pid=$!
    for _ in $(seq 1 60); do grep -q "is ready" "$dir/demo.out" && return; sleep 1; done
    echo "corvid demo did not start: $dir/demo.out" >&2
    exit 1
}
cleanup() { stop_demo; ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT

ip netns add "$ns"
run ip link set lo up

# Per established socket: bytes charged (r rmem_alloc, t wmem_alloc, f fwd_alloc, w wmem_queued).
socket_memory() {
    run ss -tmn state established | awk '
    /skmem/ { n++; match($0, /skmem:\([^)]*\)/); split(substr($0, RSTART + 6, RLENGTH - 7), kv, ",")
              for (i in kv) { key = kv[i]; sub(/[0-9]+$/, "", key); value = kv[i]; sub(/^[a-z]+/, "", value)
                              if (key == "r" || key == "t" || key == "f" || key == "w") charged += value } }
    END { printf "%d sockets, %.0f bytes charged per socket\n", n, n ? charged / n : 0 }'
}

idle() {
    label=$1
    proxy=$(awk '$1 == "proxy" { print $2 }' "$dir/demo.out")
    run "$corvid" bench idle-hold --target tls://127.0.0.1:1993 --user john --password demo \
        --sessions "${SESSIONS:-40}" --duration 20s --warmup 60s --pid "$proxy" \
        > "$dir/idle-$label.out" 2> "$dir/idle-$label.err" || true
}

echo "== 1. idle sessions: tcp_rmem / tcp_wmem"
for setting in "default:4096 131072 33554432:4096 16384 4194304" "small:4096 4096 4194304:4096 4096 4194304"; do
    label=${setting%%:*}
    rest=${setting#*:}
    sysctl_set net/ipv4/tcp_rmem "${rest%%:*}"
    sysctl_set net/ipv4/tcp_wmem "${rest#*:}"
    start_demo
    idle "$label" &
    idle_pid=$!
    sleep 70
    echo "$label (rmem ${rest%%:*}; wmem ${rest#*:}): $(socket_memory)"
    wait "$idle_pid"
    grep -A1 "^target " "$dir/idle-$label.out" | head -2
    stop_demo
done
grep -E "^(TCP|sock_inode_cache) " /proc/slabinfo | awk '{ print "slab object " $1 ": " $4 " bytes" }'

echo "== 2. a burst of connections: somaxconn"
for somaxconn in 16 4096; do
    sysctl_set net/core/somaxconn "$somaxconn"
    start_demo
    run ss -ltn | awk '$4 ~ /:1993$/ { print "listen backlog in force: " $3; exit }'
    before=$(run nstat -az TcpExtListenOverflows | awk '/ListenOverflows/ { print $2 }')
    run "$corvid" bench tls-handshake --target tls://127.0.0.1:1993 --user john --password demo \
        --sessions 500 --duration 10s --warmup 2s > "$dir/burst-$somaxconn.out" 2>/dev/null || true
    after=$(run nstat -az TcpExtListenOverflows | awk '/ListenOverflows/ { print $2 }')
    echo "somaxconn $somaxconn: $((after - before)) listen overflows"
    grep -E "^target |connect " "$dir/burst-$somaxconn.out" | head -4
    stop_demo
done
rm -rf "$dir"
