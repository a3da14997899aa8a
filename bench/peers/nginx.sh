#!/usr/bin/env bash
# bench/peers/nginx.sh start|stop: nginx's mail proxy (Debian nginx-light + libnginx-mod-mail,
# `ci/install-peers --nginx`) on 127.0.0.1:$NGINX_PORT (17144) and implicit TLS on
# $NGINX_TLS_PORT (17994), pinned to $PEER_CPU (0), in front of backend.sh's Dovecot; its
# auth_http endpoint is auth_http.py on $AUTH_HTTP_PORT (17180), pinned to $BACKEND_CPU (it is
# not part of the proxy under test). Config: nginx.conf. The pid file holds nginx's master,
# whose worker is its child (what `corvid bench --pid` reads).
source "$(dirname "$0")/common.sh"
NAME=nginx
DIR=$STATE/$NAME

start() {
    if [ ! -x /usr/sbin/nginx ] || [ ! -e /usr/lib/nginx/modules/ngx_mail_module.so ]; then
        die "nginx's mail proxy is missing: run ci/install-peers --nginx"
    fi
    fresh_dir "$NAME"
    mkdir -p "$STATE/auth-http"
    tls_files
    # shellcheck disable=SC2034 # read by render()
    NGINX_CPU_MASK=1$(printf '0%.0s' $(seq 1 "$PEER_CPU"))
    render "$PEERS/nginx.conf" "$DIR/nginx.conf"
    spawn auth-http "$BACKEND_CPU" python3 "$PEERS/auth_http.py" "$AUTH_HTTP_PORT" 127.0.0.1 "$BACKEND_PORT"
    wait_for auth-http listening "$AUTH_HTTP_PORT"
    spawn "$NAME" "$PEER_CPU" /usr/sbin/nginx -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/error.log"
    wait_for "$NAME" greets "$NGINX_PORT"
    log "nginx on 127.0.0.1:$NGINX_PORT, TLS $NGINX_TLS_PORT (pid $(cat "$(pidfile "$NAME")"))"
}

stop() {
    stop_pid "$NAME"
    stop_pid auth-http
}

main start stop "$@"
