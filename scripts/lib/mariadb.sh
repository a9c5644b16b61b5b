# shellcheck shell=bash
# A throwaway MariaDB server for the custom-database tests (a legacy MySQL user store behind
# the sandbox's `mysql` module). Source scripts/lib/common.sh first.
#
#   mariadb_ensure_installed   install Debian's mariadb-server package if mariadbd is missing
#   mariadb_start              initialise a temp datadir, start on a free 127.0.0.1 port,
#                              export CALLSIGN_TEST_MARIADB_URL; registers mariadb_stop
#   mariadb_stop               stop the server and remove its directory (idempotent)
#
# The server runs with --skip-grant-tables (no accounts: any user and password connect), on
# 127.0.0.1 only, for the length of the test run. As root it runs as the package's `mysql`
# user.

MARIADB_DIR=""
MARIADB_PID=""

mariadb_ensure_installed() {
    if command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]]; then
        return 0
    fi
    log "installing MariaDB (Debian package mariadb-server)"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y mariadb-server
    [[ -x /usr/sbin/mariadbd ]] || die "installed mariadb-server but found no mariadbd"
}

mariadb_start() {
    [[ -z $MARIADB_DIR ]] || die "mariadb_start: a server is already running in $MARIADB_DIR"
    local bin=/usr/sbin/mariadbd
    command -v mariadbd >/dev/null 2>&1 && bin=$(command -v mariadbd)
    MARIADB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/callsign-mariadb.XXXXXX")
    at_exit mariadb_stop
    local user_args=()
    if [[ $EUID -eq 0 ]]; then
        chown -R mysql: "$MARIADB_DIR"
        user_args=(--user=mysql)
    fi
    if ! mariadb-install-db --no-defaults --datadir="$MARIADB_DIR/data" "${user_args[@]}" \
        --auth-root-authentication-method=normal --skip-test-db \
        >"$MARIADB_DIR/install.log" 2>&1; then
        cat "$MARIADB_DIR/install.log" >&2
        die "mariadb-install-db failed"
    fi
    local attempt port i
    for attempt in 1 2 3; do
        port=$(free_port)
        "$bin" --no-defaults --datadir="$MARIADB_DIR/data" "${user_args[@]}" \
            --bind-address=127.0.0.1 --port="$port" --socket="$MARIADB_DIR/mysqld.sock" \
            --pid-file="$MARIADB_DIR/mysqld.pid" --skip-grant-tables --skip-log-bin \
            --innodb-flush-log-at-trx-commit=0 --log-error="$MARIADB_DIR/server.log" \
            >"$MARIADB_DIR/stdout.log" 2>&1 &
        MARIADB_PID=$!
        for ((i = 0; i < 300; i++)); do
            if mariadb-admin --no-defaults -h 127.0.0.1 -P "$port" -u root ping >/dev/null 2>&1; then
                export CALLSIGN_TEST_MARIADB_URL="mysql://root@127.0.0.1:$port/"
                note "MariaDB listening on 127.0.0.1:$port (data in $MARIADB_DIR)"
                return 0
            fi
            kill -0 "$MARIADB_PID" 2>/dev/null || break
            sleep 0.1
        done
        warn "MariaDB did not start on port $port (attempt $attempt)"
        tail -n 20 "$MARIADB_DIR/server.log" >&2 || true
        kill -KILL "$MARIADB_PID" 2>/dev/null || true
        wait "$MARIADB_PID" 2>/dev/null || true
    done
    die "could not start MariaDB"
}

mariadb_stop() {
    [[ -n $MARIADB_DIR ]] || return 0
    if [[ -n $MARIADB_PID ]] && kill -0 "$MARIADB_PID" 2>/dev/null; then
        kill -TERM "$MARIADB_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 100; i++)); do
            kill -0 "$MARIADB_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$MARIADB_PID" 2>/dev/null || true
        wait "$MARIADB_PID" 2>/dev/null || true
    fi
    rm -rf -- "$MARIADB_DIR"
    MARIADB_DIR=""
    MARIADB_PID=""
    unset CALLSIGN_TEST_MARIADB_URL
}
