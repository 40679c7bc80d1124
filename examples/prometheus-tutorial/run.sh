#!/usr/bin/env bash
# The Thanos quick tutorial with thanos-ts: a real Prometheus (Debian package `prometheus`) with a
# thanos-ts sidecar shipping blocks to a local FILESYSTEM bucket, a store gateway over that bucket,
# and a querier over both. Everything listens on 127.0.0.1; Ctrl-C stops all of it.
#
#   examples/prometheus-tutorial/run.sh            # uses ./data/tutorial, ports 9090 and 1090x
#   DATA_DIR=/tmp/t PORT_BASE=20000 examples/prometheus-tutorial/run.sh
#   QUERY_HTTP=19090 examples/prometheus-tutorial/run.sh   # any one port (PROM_PORT, SIDECAR_GRPC, ...)
#
# THANOS_TS overrides how thanos-ts is run (default: npx thanos-ts).
set -euo pipefail

DATA_DIR=${DATA_DIR:-./data/tutorial}
PORT_BASE=${PORT_BASE:-10900}
PROMETHEUS=${PROMETHEUS:-prometheus}
read -r -a THANOS_TS <<<"${THANOS_TS:-npx thanos-ts}"

PROM_PORT=${PROM_PORT:-$((PORT_BASE + 0))}
SIDECAR_GRPC=${SIDECAR_GRPC:-$((PORT_BASE + 1))}; SIDECAR_HTTP=${SIDECAR_HTTP:-$((PORT_BASE + 2))}
STORE_GRPC=${STORE_GRPC:-$((PORT_BASE + 3))}; STORE_HTTP=${STORE_HTTP:-$((PORT_BASE + 4))}
QUERY_GRPC=${QUERY_GRPC:-$((PORT_BASE + 5))}; QUERY_HTTP=${QUERY_HTTP:-$((PORT_BASE + 6))}

mkdir -p "$DATA_DIR/prometheus" "$DATA_DIR/bucket" "$DATA_DIR/store"

# Step 1: Prometheus with external labels (required by the sidecar) and 2h blocks, as Thanos advises.
cat >"$DATA_DIR/prometheus.yml" <<YAML
global:
  scrape_interval: 5s
  external_labels:
    cluster: tutorial
    replica: "0"
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:${PROM_PORT}']
  - job_name: thanos
    static_configs:
      - targets: ['127.0.0.1:${SIDECAR_HTTP}', '127.0.0.1:${STORE_HTTP}', '127.0.0.1:${QUERY_HTTP}']
YAML

cat >"$DATA_DIR/bucket.yml" <<YAML
type: FILESYSTEM
config:
  directory: $(cd "$DATA_DIR" && pwd)/bucket
YAML

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$PROMETHEUS" \
  --config.file="$DATA_DIR/prometheus.yml" \
  --storage.tsdb.path="$DATA_DIR/prometheus" \
  --storage.tsdb.min-block-duration=2h --storage.tsdb.max-block-duration=2h \
  --web.listen-address="127.0.0.1:${PROM_PORT}" --web.enable-lifecycle --log.level=warn &
pids+=($!)

# Step 2: the sidecar serves Prometheus's data over the StoreAPI and uploads its blocks.
"${THANOS_TS[@]}" sidecar \
  --prometheus.url="http://127.0.0.1:${PROM_PORT}" \
  --tsdb.path="$DATA_DIR/prometheus" \
  --objstore.config-file="$DATA_DIR/bucket.yml" \
  --grpc-address="127.0.0.1:${SIDECAR_GRPC}" --http-address="127.0.0.1:${SIDECAR_HTTP}" &
pids+=($!)

# Step 3: the store gateway serves the blocks in the bucket.
"${THANOS_TS[@]}" store \
  --objstore.config-file="$DATA_DIR/bucket.yml" \
  --data-dir="$DATA_DIR/store" \
  --grpc-address="127.0.0.1:${STORE_GRPC}" --http-address="127.0.0.1:${STORE_HTTP}" &
pids+=($!)

# Step 4: the querier gives one PromQL view over both, deduplicating on `replica`.
"${THANOS_TS[@]}" query \
  --endpoint="127.0.0.1:${SIDECAR_GRPC}" --endpoint="127.0.0.1:${STORE_GRPC}" \
  --query.replica-label=replica \
  --grpc-address="127.0.0.1:${QUERY_GRPC}" --http-address="127.0.0.1:${QUERY_HTTP}" &
pids+=($!)

echo "Prometheus: http://127.0.0.1:${PROM_PORT}  querier: http://127.0.0.1:${QUERY_HTTP}"
echo "try: curl -s 'http://127.0.0.1:${QUERY_HTTP}/api/v1/query?query=up'"
wait -n "${pids[@]}"
