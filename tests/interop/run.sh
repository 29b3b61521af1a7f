#!/usr/bin/env bash
# Runs tests/interop/check.py against a throw-away keymint.
#
# Usage: tests/interop/run.sh PATH/TO/keymint
#
# Builds nothing: pass a binary you built (e.g. target/debug/keymint). Starts
# it on a free loopback port with a new SQLite database and keys directory in
# a temporary directory, creates an account and a client with the CLI, runs
# check.py, then stops the server and removes the directory. Installs the
# Python packages check.py needs when they are missing.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 PATH/TO/keymint" >&2
    exit 2
fi
keymint=$(realpath "$1")
if [[ ! -x "$keymint" ]]; then
    echo "$0: $1 is not an executable file" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The versions the README reports as checked.
packages=(authlib==1.9.10 requests-oauthlib==2.0.0 oauthlib==4.0.1 pyjwt==2.15.1
    cryptography==48.0.0 requests==2.34.2)
if ! python3 -m pip show --quiet authlib requests-oauthlib pyjwt cryptography requests \
    >/dev/null 2>&1; then
    echo "installing Python packages for check.py" >&2
    python3 -m pip install --quiet --disable-pip-version-check "${packages[@]}"
fi

workdir=$(mktemp -d "${TMPDIR:-/tmp}/keymint-interop.XXXXXX")
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid"
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export KEYMINT_LISTEN="127.0.0.1:$port"
export KEYMINT_DATABASE_URL="$workdir/keymint.db"
export KEYMINT_KEYS_DIR="$workdir/keys"
export KEYMINT_LOG=warn
unset KEYMINT_ISSUER KEYMINT_AUDIENCE
base_url="http://$KEYMINT_LISTEN"

"$keymint" serve 2>"$workdir/serve.log" &
server_pid=$!

for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "$base_url/.well-known/oauth-authorization-server" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "$0: keymint serve exited; its log:" >&2
        cat "$workdir/serve.log" >&2
        exit 1
    fi
    sleep 0.1
done

account_id=$("$keymint" account create --name interop \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
client_json=$("$keymint" client create --account "$account_id" --name ci \
    --scope reporting --scope configuration)
field() {
    printf '%s' "$client_json" | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
client_id=$(field client_id)
# The secret goes through the environment, not argv, so it stays out of `ps`.
KEYMINT_CLIENT_SECRET=$(field client_secret)
export KEYMINT_CLIENT_SECRET

python3 "$here/check.py" "$base_url" "$client_id"
