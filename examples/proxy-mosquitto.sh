#!/usr/bin/env bash
# Webhooks for an existing mosquitto without changing it: clients connect to the proxy, which relays
# every byte to mosquitto untouched and posts the events of the config file.
#
#   bash examples/proxy-mosquitto.sh            # mosquitto on 1883, the proxy on 1884
#   mosquitto_pub -p 1884 -t demo/hello -m hi   # fires on_message_publish
#
# Environment: MOSQUITTO_PORT (1883), PROXY_PORT (1884), CONFIG (examples/webhook.conf),
# MQTT_WEBHOOK (the command; default: from this repository's source; installed: "npx mqtt-webhook").
set -euo pipefail
cd "$(dirname "$0")/.."

mosquitto_port=${MOSQUITTO_PORT:-1883}
proxy_port=${PROXY_PORT:-1884}
config=${CONFIG:-examples/webhook.conf}
read -r -a command <<< "${MQTT_WEBHOOK:-node --import tsx src/cli/index.ts}"

dir=$(mktemp -d)
{
  echo "listener $mosquitto_port 127.0.0.1"
  echo "allow_anonymous true"
  echo "persistence false"
  # As root, mosquitto would switch to a 'mosquitto' user that may not exist.
  if [ "$(id -u)" = 0 ]; then echo "user root"; fi
} > "$dir/mosquitto.conf"

mosquitto -c "$dir/mosquitto.conf" &
mosquitto_pid=$!
"${command[@]}" proxy --listen "127.0.0.1:$proxy_port" --upstream "127.0.0.1:$mosquitto_port" --config "$config" &
proxy_pid=$!

# Ctrl-C or SIGTERM: the proxy drains its webhook queue first, then mosquitto stops.
stop() {
  kill -TERM "$proxy_pid" 2>/dev/null || true
  wait "$proxy_pid" || true
  kill -TERM "$mosquitto_pid" 2>/dev/null || true
  wait "$mosquitto_pid" || true
  rm -rf "$dir"
  exit 0
}
trap stop INT TERM
status=0
wait "$proxy_pid" || status=$?
kill -TERM "$mosquitto_pid" 2>/dev/null || true
rm -rf "$dir"
exit "$status"
