#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the demo and the tests.
#
#   scripts/pg.sh start <dir> [port] [--watch PID] [--tls CERT_DIR]
#       Creates a cluster in <dir> (created if missing, must be empty otherwise), starts it on
#       127.0.0.1:<port> (a free port when none is given) with its unix socket in <dir>, and prints
#       postgres://postgres:<password>@127.0.0.1:<port>/postgres as the last line on stdout.
#       With --watch PID, a background watchdog stops the cluster and deletes <dir> once PID exits.
#       With --tls CERT_DIR, the server also accepts TLS (ssl = on) with the certificate and key in
#       CERT_DIR/server.crt and CERT_DIR/server.key (PEM), copied into <dir>.
#       Starting a directory whose cluster already runs only prints its URL.
#   scripts/pg.sh stop <dir>
#       Stops the cluster and deletes <dir>. Stopping twice, or a directory that is gone, is fine.
#
# Environment: PG_BIN (directory holding initdb, pg_ctl, postgres; discovered when unset),
# PG_PASSWORD (the superuser's password, default `tenantctl`).
# PostgreSQL refuses to run as root: as root, the cluster runs as the `postgres` user.
set -euo pipefail

readonly MARKER=.tenantctl-pg
PASSWORD="${PG_PASSWORD:-tenantctl}"

die() {
    echo "pg.sh: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 start <dir> [port] [--watch PID] [--tls CERT_DIR] | $0 stop <dir>" >&2
    exit 2
}

find_bin_dir() {
    local candidates=()
    if [[ -n "${PG_BIN:-}" ]]; then
        [[ -x "$PG_BIN/initdb" ]] || die "PG_BIN=$PG_BIN holds no initdb"
        echo "$PG_BIN"
        return
    fi
    local newest
    newest="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
    [[ -n "$newest" ]] && candidates+=("$newest")
    newest="$(ls -d /usr/pgsql-*/bin 2>/dev/null | sort -V | tail -1 || true)"
    [[ -n "$newest" ]] && candidates+=("$newest")
    if command -v pg_config >/dev/null 2>&1; then
        candidates+=("$(pg_config --bindir)")
    fi
    if command -v initdb >/dev/null 2>&1; then
        candidates+=("$(dirname "$(command -v initdb)")")
    fi
    local dir
    for dir in "${candidates[@]}"; do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]]; then
            echo "$dir"
            return
        fi
    done
    die "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; install them (Debian: apt-get install postgresql) or set PG_BIN to their directory"
}

# Runs a command as the cluster's owner: `postgres` when we are root, ourselves otherwise.
as_owner() {
    if [[ "$(id -u)" -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

random_port() {
    echo $((20000 + (RANDOM * 32768 + RANDOM) % 40000))
}

url_for() {
    echo "postgres://postgres:${PASSWORD}@127.0.0.1:$1/postgres"
}

is_running() {
    local bin="$1" data="$2"
    [[ -f "$data/postmaster.pid" ]] && as_owner "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1
}

cmd_start() {
    local dir="" port="" watch="" tls=""
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --watch)
                [[ $# -ge 2 ]] || usage
                watch="$2"
                shift 2
                ;;
            --tls)
                [[ $# -ge 2 ]] || usage
                tls="$2"
                shift 2
                ;;
            -*) usage ;;
            *)
                if [[ -z "$dir" ]]; then dir="$1"; elif [[ -z "$port" ]]; then port="$1"; else usage; fi
                shift
                ;;
        esac
    done
    [[ -n "$dir" ]] || usage
    [[ -z "$port" || "$port" =~ ^[0-9]+$ ]] || die "port must be a number, got '$port'"
    [[ "$PASSWORD" =~ ^[A-Za-z0-9._~-]+$ ]] || die "PG_PASSWORD may only hold A-Z a-z 0-9 . _ ~ - (it goes into a URL)"
    [[ -z "$watch" || "$watch" =~ ^[0-9]+$ ]] || die "--watch takes a process id, got '$watch'"
    if [[ -n "$tls" ]]; then
        [[ -r "$tls/server.crt" && -r "$tls/server.key" ]] || die "--tls $tls: no readable server.crt and server.key in it"
    fi

    local bin
    bin="$(find_bin_dir)"
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    local data="$dir/data"

    if [[ -f "$dir/$MARKER" ]] && is_running "$bin" "$data"; then
        echo "pg.sh: a cluster already runs in $dir" >&2
        start_watchdog "$dir" "$watch"
        cat "$dir/url"
        return
    fi
    if [[ -f "$dir/$MARKER" ]]; then
        die "$dir holds a cluster that is not running; remove it with '$0 stop $dir' and start again"
    fi
    [[ -z "$(ls -A "$dir")" ]] || die "$dir is not empty; give an empty or missing directory"

    touch "$dir/$MARKER"
    if [[ "$(id -u)" -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user to own the cluster"
        chown -R postgres: "$dir"
        as_owner test -w "$dir" || die "the postgres user cannot write to $dir (is a parent directory private?)"
    fi

    local pwfile="$dir/pwfile"
    as_owner bash -c 'umask 077 && cat >"$1"' _ "$pwfile" <<<"$PASSWORD"
    if ! as_owner "$bin/initdb" -D "$data" -U postgres --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        die "initdb failed"
    fi
    rm -f "$pwfile"
    [[ -z "$tls" ]] || install_tls "$tls" "$dir" "$data"
    cat >>"$data/postgresql.conf" <<EOF

# tenantctl throwaway cluster (scripts/pg.sh)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
port = 5432
EOF

    # A port that looks free can be taken before the server binds it: retry on another one.
    local attempt
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        local try="$port"
        if [[ -z "$try" ]]; then
            try="$(random_port)"
            while port_in_use "$try"; do try="$(random_port)"; done
        fi
        sed -i "s/^port = [0-9]*$/port = $try/" "$data/postgresql.conf"
        if as_owner "$bin/pg_ctl" start -D "$data" -l "$dir/server.log" -w -t 60 >/dev/null 2>&1; then
            url_for "$try" >"$dir/url"
            start_watchdog "$dir" "$watch"
            echo "pg.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') runs in $dir on port $try" >&2
            url_for "$try"
            return
        fi
        if [[ -z "$port" ]] && grep -q "could not bind\|Address already in use" "$dir/server.log" 2>/dev/null; then
            echo "pg.sh: port $try was taken, trying another (attempt $attempt)" >&2
            continue
        fi
        break
    done
    tail -n 20 "$dir/server.log" >&2 2>/dev/null || true
    die "the server in $dir did not start (log above)"
}

# The server's certificate and key, owned by the cluster's owner (PostgreSQL refuses a key that
# others can read), and the settings that turn TLS on.
install_tls() {
    local from="$1" dir="$2" data="$3"
    cp "$from/server.crt" "$dir/server.crt"
    cp "$from/server.key" "$dir/server.key"
    chmod 600 "$dir/server.key"
    if [[ "$(id -u)" -eq 0 ]]; then
        chown postgres: "$dir/server.crt" "$dir/server.key"
    fi
    cat >>"$data/postgresql.conf" <<EOF

# TLS (scripts/pg.sh --tls)
ssl = on
ssl_cert_file = '$dir/server.crt'
ssl_key_file = '$dir/server.key'
EOF
}

# The watchdog runs detached, with no inherited output: a caller reading our stdout to its end
# (the test harness) must not wait for it.
start_watchdog() {
    local dir="$1" pid="$2"
    [[ -n "$pid" ]] || return 0
    kill -0 "$pid" 2>/dev/null || die "--watch: no process $pid"
    local self
    self="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
    setsid bash -c '
        while kill -0 "$1" 2>/dev/null && [[ -d "$2" ]]; do sleep 1; done
        exec "$3" stop "$2"
    ' pg-watchdog "$pid" "$dir" "$self" </dev/null >/dev/null 2>&1 &
}

cmd_stop() {
    [[ $# -eq 1 ]] || usage
    local dir="$1"
    [[ -d "$dir" ]] || return 0
    [[ -f "$dir/$MARKER" ]] || die "$dir was not made by pg.sh (no $MARKER): not touching it"
    local data="$dir/data"
    if [[ -f "$data/postmaster.pid" ]]; then
        local bin
        bin="$(find_bin_dir)"
        as_owner "$bin/pg_ctl" stop -D "$data" -m fast -w -t 30 >/dev/null 2>&1 ||
            as_owner "$bin/pg_ctl" stop -D "$data" -m immediate -w -t 30 >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start)
        shift
        cmd_start "$@"
        ;;
    stop)
        shift
        cmd_stop "$@"
        ;;
    *) usage ;;
esac
