#!/usr/bin/env bash
# bench/peers/cyrus-frontend.sh start|stop: a Cyrus IMAP 3.6 Murder (Debian cyrus-imapd,
# cyrus-murder; ci/install-peers): its MUPDATE master (`mupdate -m` on $CYRUS_MUPDATE_PORT,
# 17905, pinned to $BACKEND_CPU: not on the data path) and a frontend (imapd on $CYRUS_PORT,
# 17146, implicit TLS on $CYRUS_TLS_PORT, 17996, and its mupdate slave, pinned to $PEER_CPU) in
# front of backend.sh's Dovecot. Configs: cyrus-{mupdate,frontend}.{imapd,cyrus}.conf. Each
# runs under its own Cyrus master(8) in the foreground; the pid files hold those, the
# frontend's imapd processes are its children (what `corvid bench --pid` reads). Cyrus logs
# through syslog only: with no syslog daemon its log lines are lost (stderr.log has the rest).
source "$(dirname "$0")/common.sh"
CYRUS_BIN=/usr/lib/cyrus/bin
CYRUS_ADMIN=mupduser
CYRUS_ADMIN_PASSWORD=mupdpass
CYRUS_SLAVE_PORT=${CYRUS_SLAVE_PORT:-17907}

# instance NAME: a fresh directory tree for a Cyrus instance, configs rendered.
instance() {
    DIR=$STATE/$1
    fresh_dir "$1"
    local sub
    for sub in db socket proc lock log msg user quota sieve ptclient sync; do
        mkdir -p "$DIR/conf/$sub"
    done
    mkdir -p "$DIR/spool"
    render "$PEERS/$1.imapd.conf" "$DIR/imapd.conf"
    render "$PEERS/$1.cyrus.conf" "$DIR/cyrus.conf"
}

# add_user NAME REALM USER PASSWORD: a sasldb user of instance NAME.
add_user() {
    printf '%s' "$4" | saslpasswd2 -p -c -f "$STATE/$1/sasldb2" -u "$2" "$3"
}

# run NAME CPU: starts instance NAME's Cyrus master on CPU.
run() {
    chown -R cyrus:mail "$STATE/$1"
    spawn "$1" "$2" "$CYRUS_BIN/master" -C "$STATE/$1/imapd.conf" -M "$STATE/$1/cyrus.conf" \
        -p "$STATE/$1/master.pid"
}

start() {
    [ -x "$CYRUS_BIN/master" ] || die "Cyrus is missing: run ci/install-peers"
    tls_files
    instance cyrus-mupdate
    add_user cyrus-mupdate cyrus-mupdate "$CYRUS_ADMIN" "$CYRUS_ADMIN_PASSWORD"
    # The master's table: user.$BENCH_USER on the backend, as `mupdate -m` writes an ACTIVATE
    # of a remote mailbox (dbname: N, then the name with 0x1f for the hierarchy separator).
    local now
    now=$(date +%s)
    chown -R cyrus:mail "$DIR" # Cyrus's tools run as the cyrus user
    printf 'Nuser\037%s\t%%(T er P default S 127.0.0.1:%s M %s A %%(%s lrswipkxtecda))\n' \
        "$BENCH_USER" "$BACKEND_PORT" "$now" "$BENCH_USER" |
        "$CYRUS_BIN/cyr_dbtool" -C "$DIR/imapd.conf" -n -T "$DIR/conf/mailboxes.db" twoskip set
    run cyrus-mupdate "$BACKEND_CPU"
    wait_for cyrus-mupdate listening "$CYRUS_MUPDATE_PORT"

    instance cyrus-frontend
    add_user cyrus-frontend cyrus-frontend "$BENCH_USER" "$BENCH_PASSWORD"
    run cyrus-frontend "$PEER_CPU"
    wait_for cyrus-frontend greets "$CYRUS_PORT"
    log "Cyrus frontend on 127.0.0.1:$CYRUS_PORT, TLS $CYRUS_TLS_PORT (pid $(cat "$(pidfile cyrus-frontend)"))"
}

stop() {
    stop_pid cyrus-frontend
    stop_pid cyrus-mupdate
}

main start stop "$@"
