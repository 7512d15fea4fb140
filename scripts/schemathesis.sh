#!/usr/bin/env bash
# The OpenAPI document against the running server: schemathesis generates
# requests from /v1/openapi.json (valid and invalid ones) for every
# operation and checks each answer: no server error (5xx), a status code
# the document lists, the content type it lists, and a body matching the
# documented schema. Run by .ci/run after the tests; never skips: a missing
# python3, venv or pip fails it, as does any failure schemathesis finds.
#
# The server is the debug hearth-server (HEARTH_SERVER_BIN to use another)
# on a fresh SQLite database filled with `serve --demo`, which prints the
# office operator token (for the office's operations) and a tablet code
# (enrolled here, for the tablets' operations).
#
# HEARTH_SCHEMATHESIS_EXAMPLES (default 20) bounds the cases per operation,
# HEARTH_SCHEMATHESIS_SECONDS (default 180) the whole run.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
VENV=target/ci-venv
EXAMPLES="${HEARTH_SCHEMATHESIS_EXAMPLES:-20}"
SECONDS_BOUND="${HEARTH_SCHEMATHESIS_SECONDS:-180}"
SEED="${HEARTH_SCHEMATHESIS_SEED:-13}"

# python3 with venv: installed from the system's packages when missing.
if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  # shellcheck source=deps.sh
  . scripts/deps.sh
  hearth_apt_install python3 python3-venv python3-pip
fi
command -v python3 >/dev/null || { echo "missing python3: schemathesis needs it" >&2; exit 1; }
python3 -c 'import venv, ensurepip' || { echo "python3 has no venv/ensurepip (install python3-venv)" >&2; exit 1; }

if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null || true)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
"$VENV/bin/schemathesis" --version

BIN="${HEARTH_SERVER_BIN:-}"
if [ -z "$BIN" ]; then
  cargo build -p hearth-server --bin hearth-server --locked
  BIN="${CARGO_TARGET_DIR:-target}/debug/hearth-server"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/hearth-schemathesis.XXXXXX")
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Port 0: the server picks a free port and prints it. The rate limits are
# raised (429 is documented, but a run that is mostly 429s tests nothing):
# per address on wrong tokens, which generated requests send on purpose,
# and per tablet.
HEARTH_ADDRESS_RATE=1000000 HEARTH_ADDRESS_BURST=1000000 HEARTH_DEVICE_RATE=100000 HEARTH_DEVICE_BURST=100000 \
  "$BIN" serve --demo --listen 127.0.0.1:0 --database "sqlite://$work/server.db" --blobs "$work/blobs" \
  >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
url=
for _ in $(seq 1 300); do
  url=$(sed -n 's/^hearth-server listening on \(http:\/\/[^ ]*\)$/\1/p' "$work/server.out")
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "hearth-server did not start:" >&2
  cat "$work/server.out" "$work/server.err" >&2
  exit 1
fi
token=$(sed -n 's/^office operator token: //p' "$work/server.out")
code=$(sed -n 's/^tablet enrolment code: //p' "$work/server.out")
[ -n "$token" ] && [ -n "$code" ] || {
  echo "serve --demo printed no operator token or tablet code" >&2; cat "$work/server.out" >&2; exit 1
}
echo "hearth-server (demo data) at $url"

# A tablet enrolled with the demo's code (RFC 8032's first test public
# key), so the tablets' operations are tested behind their device token
# and not only refused with 401.
enrolment=$(python3 - "$url" "$code" <<'PY'
import base64, json, sys, urllib.request
url, code = sys.argv[1], sys.argv[2]
pubkey = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
body = json.dumps({"code": code, "name": "schemathesis",
                   "pubkey": base64.urlsafe_b64encode(pubkey).decode().rstrip("=")}).encode()
req = urllib.request.Request(url + "/v1/enroll/device", data=body, headers={"Content-Type": "application/json"})
answer = json.load(urllib.request.urlopen(req, timeout=30))
print(answer["device_id"], answer["token"])
PY
)
read -r device_id device_token <<<"$enrolment"
[ -n "$device_token" ] || { echo "enrolling the test tablet failed" >&2; exit 1; }

# Each operation gets the token of its security scheme; {device_id} is the
# enrolled tablet's (any other is refused 403 before anything is read).
cat >"$work/schemathesis.toml" <<TOML
[auth.openapi.operator_token]
bearer = "$token"

[auth.openapi.device_token]
bearer = "$device_token"

[parameters]
"path.device_id" = "$device_id"
TOML

status=0
# scripts/schemathesis_hooks.py: a serializer for tus chunks. Run in the
# scratch directory: schemathesis keeps a cache (.schemathesis/) where it runs.
here=$PWD
(cd "$work" && PYTHONPATH="$here/scripts" SCHEMATHESIS_HOOKS=schemathesis_hooks \
  "$here/$VENV/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$url/v1/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$EXAMPLES" \
  --max-time "$SECONDS_BOUND" \
  --seed "$SEED" \
  --workers 1 \
  --request-timeout 30 \
  --suppress-health-check all \
  --generation-database none \
  --no-color) || status=$?

if grep -q "panicked" "$work/server.err"; then
  echo "the server panicked during the run:" >&2
  grep -A3 "panicked" "$work/server.err" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "schemathesis: the server does not match /v1/openapi.json (see above)" >&2
fi
exit "$status"
