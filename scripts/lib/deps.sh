# shellcheck shell=bash
# Installs the SDK compat suites' dependencies, skipping work already done.
# Source scripts/lib/common.sh first; expects REPO_ROOT.
#
#   compat_deps_python   .venv-compat/ with compat/python/requirements.txt (SDK suite and
#                        the phone corpus generator, scripts/phone_corpus.py)
#   compat_deps_node     compat/node/node_modules via npm ci
#   compat_deps_chromium Debian's chromium for the console browser test (apt-get when missing)
#   cargo_deny_ensure    cargo-deny at CARGO_DENY_VERSION in ~/.cargo/bin (cargo install)
#   rust_toolchain_ensure  rust-toolchain.toml's compiler known to rustup by its version
#
# The compat installs keep a stamp (hash of their inputs and the interpreter version) inside
# what they installed, and reinstall only when the stamp differs.

COMPAT_VENV="${COMPAT_VENV:-$REPO_ROOT/.venv-compat}"

compat_deps_python() {
    local req="$REPO_ROOT/compat/python/requirements.txt"
    local stamp="$COMPAT_VENV/.callsign-stamp"
    local want
    command -v python3 >/dev/null 2>&1 || die "python3 is required"
    want=$(hash_inputs "$req" "$(python3 -c 'import sys; print(sys.version)')")
    if [[ -x $COMPAT_VENV/bin/python && -f $stamp && $(cat "$stamp") == "$want" ]] &&
        "$COMPAT_VENV/bin/python" -c 'import auth0, pytest, phonenumbers' >/dev/null 2>&1; then
        note "Python venv up to date ($COMPAT_VENV)"
        return 0
    fi
    log "creating the Python venv for the SDK compat tests ($COMPAT_VENV)"
    rm -rf -- "$COMPAT_VENV"
    if ! python3 -m venv "$COMPAT_VENV" >/dev/null 2>&1; then
        # Debian's python3 ships venv/ensurepip separately.
        rm -rf -- "$COMPAT_VENV"
        log "installing python3-venv (Debian package)"
        as_root apt-get update
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv
        python3 -m venv "$COMPAT_VENV"
    fi
    # Keep the venv out of git without touching the repository's ignore files.
    printf '*\n' >"$COMPAT_VENV/.gitignore"
    "$COMPAT_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
    printf '%s\n' "$want" >"$stamp"
}

compat_deps_node() {
    local dir="$REPO_ROOT/compat/node"
    local stamp="$dir/node_modules/.callsign-stamp"
    local want
    command -v node >/dev/null 2>&1 || die "node is required"
    command -v npm >/dev/null 2>&1 || die "npm is required"
    want=$(hash_inputs "$dir/package.json" "$dir/package-lock.json" "$(node --version)")
    if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
        note "node_modules up to date ($dir)"
        return 0
    fi
    log "installing the node SDK compat test dependencies (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    printf '%s\n' "$want" >"$stamp"
}

# The console browser test (compat/node/console.test.mjs) drives Debian's Chromium through
# playwright-core; install it like PostgreSQL when it is missing. No Chromium is an error
# (the test would fail loudly anyway), never a reason to skip.
compat_deps_chromium() {
    local bin="${CALLSIGN_CHROMIUM:-/usr/bin/chromium}"
    if [[ -x $bin ]]; then
        note "chromium present ($bin)"
        return 0
    fi
    log "installing chromium (Debian package) for the console browser test"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
    [[ -x $bin ]] || die "chromium is still missing at $bin after apt-get install"
}

# cargo-deny checks the dependency tree against deny.toml (licenses, duplicate versions,
# sources). Pinned, because a newer cargo-deny may read deny.toml differently or need a newer
# compiler than rust-toolchain.toml's; built from crates.io once into ~/.cargo/bin (a few
# minutes on two cores) and reused while the version matches. The build goes to cargo's own
# temporary directory, not the project's target/ (CARGO_TARGET_DIR is unset for it).
# rust-toolchain.toml pins the compiler by version. A machine that installed Rust once through
# rustup, as "stable", and cannot download another toolchain (these CI machines) does not know
# that toolchain by its version, and every cargo command in the checkout would stop with "not
# installed". When stable *is* the pinned version, give it that name too (a link in rustup's
# toolchains folder, which rustup reads like any installed toolchain); otherwise leave it to
# rustup, which installs the pinned version where it can download.
rust_toolchain_ensure() {
    local want have host sysroot home
    command -v rustup >/dev/null 2>&1 || return 0
    want=$(sed -n 's/^channel *= *"\([^"]*\)".*/\1/p' "$REPO_ROOT/rust-toolchain.toml")
    [[ -n $want ]] || return 0
    if rustup toolchain list | grep -q "^$want-"; then
        return 0
    fi
    have=$(rustup run stable rustc --version 2>/dev/null | awk '{print $2}')
    if [[ $have != "$want" ]]; then
        warn "rust-toolchain.toml pins $want and stable is ${have:-absent}: rustup will try to install $want"
        return 0
    fi
    host=$(rustup run stable rustc -vV | sed -n 's/^host: //p')
    sysroot=$(rustup run stable rustc --print sysroot)
    home=${RUSTUP_HOME:-$HOME/.rustup}
    ln -sfn "$sysroot" "$home/toolchains/$want-$host"
    note "rust-toolchain.toml's $want is this machine's stable: known to rustup by that name now"
}

CARGO_DENY_VERSION=0.20.2

cargo_deny_ensure() {
    if [[ $(cargo deny --version 2>/dev/null) == "cargo-deny $CARGO_DENY_VERSION" ]]; then
        note "cargo-deny $CARGO_DENY_VERSION present"
        return 0
    fi
    log "installing cargo-deny $CARGO_DENY_VERSION (cargo install --locked)"
    env -u CARGO_TARGET_DIR cargo install cargo-deny --version "$CARGO_DENY_VERSION" --locked
}
