# shellcheck shell=bash
# Helpers shared by scripts/test and scripts/compat. Source it; it defines functions only
# (plus the exit-handler list).

log() { printf '\n==> %s\n' "$*" >&2; }
note() { printf '    %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Run a command as root: directly when we are root, else through sudo.
as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# A TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Portable "hash these files (and extra strings)".
hash_inputs() {
    {
        local f
        for f in "$@"; do
            if [[ -f $f ]]; then cat -- "$f"; else printf '%s\n' "$f"; fi
        done
    } | sha256sum | cut -d' ' -f1
}

# Exit handlers: functions (by name) run in reverse order of registration when the script
# exits for any reason. INT/TERM are turned into an exit so the handlers always run.
CALLSIGN_EXIT_HANDLERS=()
at_exit() { CALLSIGN_EXIT_HANDLERS+=("$1"); }
run_exit_handlers() {
    local i
    for ((i = ${#CALLSIGN_EXIT_HANDLERS[@]} - 1; i >= 0; i--)); do
        "${CALLSIGN_EXIT_HANDLERS[i]}" || true
    done
    CALLSIGN_EXIT_HANDLERS=()
}
install_exit_trap() {
    trap run_exit_handlers EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}
