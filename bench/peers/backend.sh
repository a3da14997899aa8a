#!/usr/bin/env bash
# bench/peers/backend.sh start|stop: the Dovecot that every peer fronts, on
# 127.0.0.1:$BACKEND_PORT (17143), pinned to $BACKEND_CPU (1), config from backend.conf.
# Users: $BENCH_USER ($BENCH_PASSWORD, one message in INBOX) and the master user
# proxy/proxypass. Needs root (Dovecot switches to its own users) and ci/install-peers.
source "$(dirname "$0")/common.sh"
NAME=backend
DIR=$STATE/$NAME

start() {
    [ -x /usr/sbin/dovecot ] || die "Dovecot is missing: run ci/install-peers"
    fresh_dir "$NAME"
    chmod 755 "$STATE" "$DIR"
    render "$PEERS/backend.conf" "$DIR/dovecot.conf"
    printf '%s:{PLAIN}%s::::::\n' "$BENCH_USER" "$BENCH_PASSWORD" >"$DIR/users"
    printf '%s:{PLAIN}%s\n' "$MASTER_USER" "$MASTER_PASSWORD" >"$DIR/masters"
    local inbox=$DIR/mail/$BENCH_USER
    mkdir -p "$inbox/cur" "$inbox/new" "$inbox/tmp"
    printf 'From: bench@example.org\r\nTo: %s@example.org\r\nSubject: bench\r\nDate: Sat, 28 Nov 2026 12:00:00 +0000\r\n\r\nA message for FETCH 1.\r\n' \
        "$BENCH_USER" >"$inbox/cur/1.bench:2,S"
    chown -R vmail:vmail "$DIR/mail"
    spawn "$NAME" "$BACKEND_CPU" /usr/sbin/dovecot -F -c "$DIR/dovecot.conf"
    wait_for "$NAME" greets "$BACKEND_PORT"
    log "backend: Dovecot on 127.0.0.1:$BACKEND_PORT (pid $(cat "$(pidfile "$NAME")"))"
}

stop() { stop_pid "$NAME"; }

main start stop "$@"
