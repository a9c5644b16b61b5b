# shellcheck shell=bash
# A throwaway PostgreSQL server for tests. Source scripts/lib/common.sh first.
#
#   pg_ensure_installed   install Debian's postgresql package if initdb/pg_ctl are nowhere
#   pg_start              initdb into a temp dir, start on a free 127.0.0.1 port, export
#                         CALLSIGN_TEST_POSTGRES_URL; registers pg_stop as an exit handler
#   pg_stop               stop the server and remove its directory (idempotent)
#   pg_psql ARGS...       run psql (found next to initdb if possible)
#
# PostgreSQL refuses to run as root, so as root the cluster belongs to a system user
# `callsign-pg` (created on first use) and every server-side command runs through runuser.

PG_BINDIR=""
PG_DIR=""
PG_PORT=""
PG_USER="callsign-pg"
PG_AS=()

# Finds a directory holding initdb, pg_ctl and postgres: the one behind PATH's pg_ctl, else
# the newest /usr/lib/postgresql/*/bin (Debian keeps them off PATH).
pg_find_bindir() {
    local d path_ctl
    if path_ctl=$(command -v pg_ctl 2>/dev/null) && command -v initdb >/dev/null 2>&1; then
        d=$(dirname -- "$(readlink -f -- "$path_ctl")")
        if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
            PG_BINDIR=$d
            return 0
        fi
    fi
    while IFS= read -r d; do
        if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
            PG_BINDIR=$d
            return 0
        fi
    done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -t/ -k4,4 -V -r)
    return 1
}

pg_ensure_installed() {
    if pg_find_bindir; then
        note "PostgreSQL: $PG_BINDIR"
        return 0
    fi
    log "installing PostgreSQL (Debian package postgresql)"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
    pg_find_bindir || die "installed postgresql but found no initdb/pg_ctl/postgres"
    note "PostgreSQL: $PG_BINDIR"
}

# Runs a server-side PostgreSQL command as the cluster owner, from the cluster's directory
# (the owner may not be allowed to read the caller's working directory).
pg_as() {
    (cd "$PG_DIR" && "${PG_AS[@]}" "$@")
}

pg_psql() {
    local psql=psql
    [[ -n $PG_BINDIR && -x $PG_BINDIR/psql ]] && psql=$PG_BINDIR/psql
    "$psql" -X -q -v ON_ERROR_STOP=1 "$@"
}

pg_start() {
    [[ -z $PG_DIR ]] || die "pg_start: a server is already running in $PG_DIR"
    [[ -n $PG_BINDIR ]] || pg_find_bindir || die "pg_start: PostgreSQL is not installed"

    PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/callsign-pg.XXXXXX")
    at_exit pg_stop
    mkdir -p "$PG_DIR/socket"

    PG_AS=()
    if [[ $EUID -eq 0 ]]; then
        if ! id -u "$PG_USER" >/dev/null 2>&1; then
            useradd --system --user-group --home-dir /nonexistent --no-create-home \
                --shell /usr/sbin/nologin "$PG_USER"
        fi
        chown -R "$PG_USER:" "$PG_DIR"
        PG_AS=(runuser -u "$PG_USER" --)
    fi

    if ! pg_as "$PG_BINDIR/initdb" --pgdata="$PG_DIR/data" --username=postgres --auth=trust \
        --encoding=UTF8 --locale=C --no-sync >"$PG_DIR/initdb.log" 2>&1; then
        cat "$PG_DIR/initdb.log" >&2
        die "initdb failed"
    fi
    # Settings live in an included file so a retry on another port can rewrite them.
    printf "include = 'callsign-test.conf'\n" >>"$PG_DIR/data/postgresql.conf"

    local attempt
    for attempt in 1 2 3; do
        PG_PORT=$(free_port)
        cat >"$PG_DIR/callsign-test.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR/socket'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
CONF
        if [[ $EUID -eq 0 ]]; then chown "$PG_USER:" "$PG_DIR/callsign-test.conf"; fi
        mv "$PG_DIR/callsign-test.conf" "$PG_DIR/data/callsign-test.conf"
        if pg_as "$PG_BINDIR/pg_ctl" --pgdata="$PG_DIR/data" --log="$PG_DIR/server.log" \
            --wait --timeout=60 start >/dev/null; then
            export CALLSIGN_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
            note "PostgreSQL listening on 127.0.0.1:$PG_PORT (data in $PG_DIR)"
            return 0
        fi
        warn "PostgreSQL did not start on port $PG_PORT (attempt $attempt)"
        tail -n 20 "$PG_DIR/server.log" >&2 || true
    done
    die "could not start PostgreSQL"
}

pg_stop() {
    [[ -n $PG_DIR ]] || return 0
    local pid
    if [[ -f $PG_DIR/data/postmaster.pid ]]; then
        pid=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null || true)
        if ! pg_as "$PG_BINDIR/pg_ctl" --pgdata="$PG_DIR/data" --mode=fast --wait --timeout=30 \
            stop >/dev/null 2>&1; then
            pg_as "$PG_BINDIR/pg_ctl" --pgdata="$PG_DIR/data" --mode=immediate --wait --timeout=10 \
                stop >/dev/null 2>&1 ||
                { [[ $pid =~ ^[0-9]+$ ]] && kill -KILL "$pid" 2>/dev/null; } || true
        fi
        # pg_ctl returns once the pid file is gone; give the postmaster a moment to exit.
        local i
        for ((i = 0; i < 50; i++)); do
            if ! [[ $pid =~ ^[0-9]+$ ]] || ! kill -0 "$pid" 2>/dev/null; then break; fi
            sleep 0.1
        done
    fi
    rm -rf -- "$PG_DIR"
    PG_DIR=""
    PG_PORT=""
    unset CALLSIGN_TEST_POSTGRES_URL
}
