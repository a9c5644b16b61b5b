# shellcheck shell=bash
# nginx for the real reverse-proxy test (tests/it/proxies.rs). Source scripts/lib/common.sh
# first.
#
#   nginx_ensure_installed   find an nginx binary, installing Debian's nginx package if there
#                            is none, and export CALLSIGN_TEST_NGINX (its path)
#
# The test starts its own nginx (one process, a config and logs in a temp dir, a free loopback
# port) and stops it; the packaged system service is never used, so a fresh install's service
# is stopped and disabled again rather than left listening on port 80.

nginx_find() {
    local p
    for p in "$(command -v nginx 2>/dev/null || true)" /usr/sbin/nginx; do
        if [[ -n $p && -x $p ]]; then
            CALLSIGN_TEST_NGINX=$p
            export CALLSIGN_TEST_NGINX
            return 0
        fi
    done
    return 1
}

nginx_ensure_installed() {
    if nginx_find; then
        note "nginx: $CALLSIGN_TEST_NGINX"
        return 0
    fi
    # Debian 12 and later: the package `nginx` is the server itself (nginx-light and friends
    # are transitional or gone).
    log "installing nginx (Debian package nginx)"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y nginx
    nginx_find || die "installed nginx but found no nginx binary"
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
        as_root systemctl disable --now nginx >/dev/null 2>&1 || true
    elif [[ -x /etc/init.d/nginx ]]; then
        as_root /etc/init.d/nginx stop >/dev/null 2>&1 || true
    fi
    note "nginx: $CALLSIGN_TEST_NGINX"
}
