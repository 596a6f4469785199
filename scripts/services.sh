#!/usr/bin/env bash
# Installs (if missing), starts, checks and stops the real services Pulse runs on,
# all on loopback and all under .services/ (binaries, data, logs, pid files):
#
#   FerretDB v1.24.2 (SQLite handler)  127.0.0.1:27017
#   Redis 7 (Debian package)            127.0.0.1:6379
#   livekit-server v1.13.5 (dev keys)   127.0.0.1:7880, webhooks -> Pulse
#   stripe-mock v0.203.0 (MIT, HTTP)    127.0.0.1:12111, Stripe's API mock for the billing tests
#
# Usage: scripts/services.sh up|down|status
# `up` is idempotent: a service this script already started and that still answers
# is left alone. `down` stops exactly the processes this script started.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES="$ROOT/.services"
BIN="$SERVICES/bin"
RUN="$SERVICES/run"
LOGS="$SERVICES/logs"
DATA="$SERVICES/data"

FERRETDB_VERSION="v1.24.2"
LIVEKIT_VERSION="v1.13.5"
# Stripe's official API mock (github.com/stripe/stripe-mock, MIT licence): stateless,
# answers every Stripe API call from Stripe's OpenAPI spec and fixtures.
STRIPE_MOCK_VERSION="v0.203.0"
MONGO_PORT="${PULSE_SERVICES_MONGO_PORT:-27017}"
REDIS_PORT="${PULSE_SERVICES_REDIS_PORT:-6379}"
LIVEKIT_PORT="${PULSE_SERVICES_LIVEKIT_PORT:-7880}"
STRIPE_MOCK_PORT="${PULSE_SERVICES_STRIPE_MOCK_PORT:-12111}"
LIVEKIT_WEBHOOK_URL="${PULSE_SERVICES_LIVEKIT_WEBHOOK_URL:-http://127.0.0.1:8000/v1/webhooks/livekit}"
# A second receiver for the end-to-end tests, which serve Pulse on this port while
# they run (LiveKit's posts there fail harmlessly the rest of the time).
LIVEKIT_TEST_WEBHOOK_URL="${PULSE_SERVICES_LIVEKIT_TEST_WEBHOOK_URL:-http://127.0.0.1:8099/v1/webhooks/livekit}"

export GOFLAGS="${GOFLAGS:-} -mod=mod"
export GOTOOLCHAIN=local

say() { printf 'services: %s\n' "$*"; }

# --- installation ------------------------------------------------------------

install_ferretdb() {
  if [[ -x "$BIN/ferretdb" ]] && "$BIN/ferretdb" --version 2>/dev/null | grep -q "version: $FERRETDB_VERSION"; then
    return
  fi
  say "building FerretDB $FERRETDB_VERSION (first time only)"
  # `go install ...@v1.24.2` yields a binary that panics at start: the module as
  # published lacks build/version/version.txt, which FerretDB's own release build
  # generates. So fetch the same module, add that file, and build it.
  local module_dir src
  module_dir="$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  src="$SERVICES/src/ferretdb-$FERRETDB_VERSION"
  rm -rf "$src" && mkdir -p "$(dirname "$src")"
  cp -r "$module_dir" "$src" && chmod -R u+w "$src"
  echo "$FERRETDB_VERSION" > "$src/build/version/version.txt"
  (cd "$src" && go build -trimpath -o "$BIN/ferretdb" ./cmd/ferretdb)
}

install_livekit() {
  if [[ -x "$BIN/livekit-server" ]] && "$BIN/livekit-server" --version 2>/dev/null | grep -q "${LIVEKIT_VERSION#v}"; then
    return
  fi
  say "installing livekit-server $LIVEKIT_VERSION (first time only)"
  GOBIN="$BIN" go install "github.com/livekit/livekit-server/cmd/server@$LIVEKIT_VERSION"
  mv "$BIN/server" "$BIN/livekit-server"
}

install_stripe_mock() {
  # The binary reports "master" as its version; the module version is in its build info.
  if [[ -x "$BIN/stripe-mock" ]] && go version -m "$BIN/stripe-mock" 2>/dev/null \
      | grep -q "github.com/stripe/stripe-mock[[:space:]]*$STRIPE_MOCK_VERSION"; then
    return
  fi
  say "installing stripe-mock $STRIPE_MOCK_VERSION (first time only)"
  GOBIN="$BIN" go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION"
}

install_redis() {
  if command -v redis-server >/dev/null 2>&1; then
    return
  fi
  say "installing redis-server from Debian"
  local sudo=""
  [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q redis-server >/dev/null; then
    $sudo apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q redis-server >/dev/null
  fi
}

# --- process management ------------------------------------------------------

pid_of() { [[ -f "$RUN/$1.pid" ]] && cat "$RUN/$1.pid" || true; }

running() {
  local pid
  pid="$(pid_of "$1")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

answers() {
  case "$1" in
    ferretdb) port_open "$MONGO_PORT" ;;
    redis) [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]] ;;
    livekit) [[ "$(curl -fsS "http://127.0.0.1:$LIVEKIT_PORT/" 2>/dev/null)" == "OK" ]] ;;
    stripe-mock) curl -fsS -o /dev/null -H "Authorization: Bearer sk_test_123" \
      "http://127.0.0.1:$STRIPE_MOCK_PORT/v1/customers" 2>/dev/null ;;
  esac
}

port_of() {
  case "$1" in
    ferretdb) echo "$MONGO_PORT" ;;
    redis) echo "$REDIS_PORT" ;;
    livekit) echo "$LIVEKIT_PORT" ;;
    stripe-mock) echo "$STRIPE_MOCK_PORT" ;;
  esac
}

launch() {
  local name="$1"; shift
  if running "$name" && answers "$name"; then
    say "$name already running (pid $(pid_of "$name"))"
    return
  fi
  if port_open "$(port_of "$name")"; then
    say "port $(port_of "$name") is taken by a process this script did not start; stop it first" >&2
    exit 1
  fi
  mkdir -p "$RUN" "$LOGS"
  setsid nohup "$@" >>"$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! > "$RUN/$name.pid"
  local deadline=$((SECONDS + 60))
  until answers "$name"; do
    if ! running "$name"; then
      say "$name exited at start; last log lines:" >&2
      tail -n 20 "$LOGS/$name.log" >&2
      exit 1
    fi
    if (( SECONDS > deadline )); then
      say "$name did not answer within 60 s; see $LOGS/$name.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  say "$name started (pid $(pid_of "$name")) on 127.0.0.1:$(port_of "$name")"
}

livekit_config() {
  mkdir -p "$RUN"
  cat > "$RUN/livekit.yaml" <<YAML
port: $LIVEKIT_PORT
bind_addresses: ["127.0.0.1"]
rtc:
  # Media on loopback only: no ICE/TCP listener (it would bind every interface),
  # one UDP port on the loopback interface, loopback candidates advertised.
  tcp_port: 0
  udp_port: 7882
  node_ip: 127.0.0.1
  use_external_ip: false
  enable_loopback_candidate: true
  interfaces:
    includes: [lo]
  ips:
    includes: [127.0.0.1/32]
keys:
  devkey: secret
webhook:
  api_key: devkey
  urls:
    - $LIVEKIT_WEBHOOK_URL
    - $LIVEKIT_TEST_WEBHOOK_URL
logging:
  level: info
YAML
}

up() {
  mkdir -p "$BIN" "$DATA/ferretdb" "$DATA/redis"
  install_ferretdb
  install_livekit
  install_redis
  install_stripe_mock
  launch ferretdb "$BIN/ferretdb" \
    --handler=sqlite --sqlite-url="file:$DATA/ferretdb/" \
    --listen-addr="127.0.0.1:$MONGO_PORT" --debug-addr=- --telemetry=disable \
    --state-dir="$DATA/ferretdb" --log-level=warn
  launch redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$DATA/redis" \
    --daemonize no --protected-mode yes --appendonly yes --save ""
  livekit_config
  launch livekit "$BIN/livekit-server" --config "$RUN/livekit.yaml"
  # HTTP on loopback only. stripe-mock also starts an HTTPS listener on every
  # interface (:12112) unless that is given another place: a Unix socket under
  # .services/run keeps it off the network (nothing uses it).
  # A socket left by a stopped stripe-mock would make the next one fail to listen.
  running stripe-mock || rm -f "$RUN/stripe-mock-https.sock"
  launch stripe-mock "$BIN/stripe-mock" -http-addr "127.0.0.1:$STRIPE_MOCK_PORT" \
    -https-unix "$RUN/stripe-mock-https.sock"
}

down() {
  local name pid
  for name in stripe-mock livekit redis ferretdb; do
    pid="$(pid_of "$name")"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      say "$name stopped (pid $pid)"
    fi
    rm -f "$RUN/$name.pid"
  done
  rm -f "$RUN/stripe-mock-https.sock"
}

status() {
  local name ok=0
  for name in ferretdb redis livekit stripe-mock; do
    if running "$name" && answers "$name"; then
      say "$name up (pid $(pid_of "$name"))"
    else
      say "$name down"; ok=1
    fi
  done
  return $ok
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
