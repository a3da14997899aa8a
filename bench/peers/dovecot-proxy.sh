#!/usr/bin/env bash
# bench/peers/dovecot-proxy.sh start|stop: Dovecot in proxy mode on 127.0.0.1:$DOVECOT_PROXY_PORT
# (17145) and implicit TLS on $DOVECOT_PROXY_TLS_PORT (17995), pinned to $PEER_CPU (0), in front
# of backend.sh's Dovecot (a second, separate instance of the same unpacked Dovecot). Config:
# dovecot-proxy.conf. The pid file holds Dovecot's master; imap-login (the relay) and auth are
# its children (what `corvid bench --pid` reads). Needs root.
source "$(dirname "$0")/common.sh"
NAME=dovecot-proxy
DIR=$STATE/$NAME

start() {
    [ -x /usr/sbin/dovecot ] || die "Dovecot is missing: run ci/install-peers"
    fresh_dir "$NAME"
    chmod 755 "$DIR"
    tls_files
    render "$PEERS/dovecot-proxy.conf" "$DIR/dovecot.conf"
    printf '%s:{PLAIN}%s::::::proxy=y host=127.0.0.1 port=%s\n' \
        "$BENCH_USER" "$BENCH_PASSWORD" "$BACKEND_PORT" >"$DIR/users"
    spawn "$NAME" "$PEER_CPU" /usr/sbin/dovecot -F -c "$DIR/dovecot.conf"
    wait_for "$NAME" greets "$DOVECOT_PROXY_PORT"
    log "Dovecot proxy on 127.0.0.1:$DOVECOT_PROXY_PORT, TLS $DOVECOT_PROXY_TLS_PORT (pid $(cat "$(pidfile "$NAME")"))"
}

stop() { stop_pid "$NAME"; }

main start stop "$@"
