#!/usr/bin/env bash
# bench/peers/corvid.sh start|stop: corvid's MUPDATE master (on $BACKEND_CPU: not on the data
# path) with the bench user's INBOX placed on the backend by `corvid mboxlist load`, and
# corvid's proxy on 127.0.0.1:$CORVID_PORT (17148) and implicit TLS on $CORVID_TLS_PORT (17998),
# $CORVID_CORES executor(s) (1) pinned to CPUs 0.., in front of backend.sh's Dovecot. Configs:
# corvid-mupdate.toml, corvid-proxy.toml. The binary: $CORVID (target/release/corvid).
# A second instance runs beside the first with CORVID_NAME (its files and pid files) and the
# CORVID_*_PORT variables set apart (run-tables.sh does so for its 2-core proxy).
source "$(dirname "$0")/common.sh"
NAME=${CORVID_NAME:-corvid}
MASTER=$NAME-mupdate
DIR=$STATE/$NAME

start() {
    [ -x "$CORVID" ] || die "$CORVID is missing: cargo build --release"
    fresh_dir "$NAME"
    fresh_dir "$MASTER"
    tls_files
    render "$PEERS/corvid-mupdate.toml" "$DIR/mupdate.toml"
    render "$PEERS/corvid-proxy.toml" "$DIR/proxy.toml"
    chmod 600 "$DIR"/*.toml
    spawn "$MASTER" "$BACKEND_CPU" "$CORVID" mupdate --config "$DIR/mupdate.toml"
    wait_for "$MASTER" listening "$CORVID_MUPDATE_PORT"
    printf '{"name":"user.%s","location":"be1!default","acl":"%s\\tlrswipkxtecda\\t","state":"active"}\n' \
        "$BENCH_USER" "$BENCH_USER" |
        CORVID_MUPDATE_PASSWORD=$MASTER_PASSWORD "$CORVID" mboxlist \
            --master "127.0.0.1:$CORVID_MUPDATE_PORT" --user admin load -
    spawn "$NAME" "$PEER_CPU-$((PEER_CPU + CORVID_CORES - 1))" "$CORVID" proxy --config "$DIR/proxy.toml"
    wait_for "$NAME" greets "$CORVID_PORT"
    log "corvid on 127.0.0.1:$CORVID_PORT, TLS $CORVID_TLS_PORT, $CORVID_CORES core(s) (pid $(cat "$(pidfile "$NAME")"))"
}

stop() {
    stop_pid "$NAME"
    stop_pid "$MASTER"
}

main start stop "$@"
