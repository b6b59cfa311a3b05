#!/usr/bin/env bash
# Provisions the real control plane the tests run against, idempotently, into a cache outside git.
#   scripts/test-env.sh [component...]   (default: all)
# Components: redis etcd kube-apiserver kube-controller-manager kubectl helm jaeger
# Prints the bin directory on the last line of stdout. Progress goes to stderr.
set -euo pipefail

K8S_VERSION=v1.36.3
K8S_STAGING_VERSION=v0.36.3
ETCD_VERSION=v3.6.8
HELM_VERSION=v3.19.5
JAEGER_VERSION=v1.76.0

CACHE=${MODELROUTE_TEST_ENV:-${XDG_CACHE_HOME:-$HOME/.cache}/modelroute/test-env}
BIN=$CACHE/bin
SRC=$CACHE/src
mkdir -p "$BIN" "$SRC"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false -trimpath"
export CGO_ENABLED=0

log() { printf '[test-env %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Each binary is stamped with the version it was built from, so a version bump rebuilds it.
fresh() { [ -x "$BIN/$1" ] && [ "$(cat "$BIN/$1.version" 2>/dev/null)" = "$2" ]; }
stamp() { echo "$2" >"$BIN/$1.version"; }

# go build with a heartbeat, since a cold Kubernetes build is silent for minutes.
go_build() { # dir out pkg
  local dir=$1 out=$2 pkg=$3 start=$SECONDS
  (cd "$dir" && go build -mod=mod -ldflags='-s -w' -o "$BIN/$out.tmp" "$pkg") &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 15
    kill -0 "$pid" 2>/dev/null && log "  building $out... $((SECONDS - start))s"
  done
  wait "$pid"
  mv "$BIN/$out.tmp" "$BIN/$out"
  log "built $out in $((SECONDS - start))s"
}

redis() {
  if command -v redis-server >/dev/null; then ln -sf "$(command -v redis-server)" "$BIN/redis-server"; return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing Debian package redis-server"
    (apt-get install -y -qq redis-server >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq redis-server; }) >&2
    ln -sf "$(command -v redis-server)" "$BIN/redis-server"
  else
    log "redis-server is missing: install the Debian package 'redis-server' (apt-get install redis-server)"; exit 1
  fi
}

k8s_module() {
  local dir=$SRC/kubernetes-$K8S_VERSION
  if [ ! -f "$dir/.ready" ]; then
    log "preparing go module for k8s.io/kubernetes $K8S_VERSION (staging modules -> $K8S_STAGING_VERSION)"
    mkdir -p "$dir"
    cat >"$dir/go.mod" <<MOD
module modelroute.dev/test-env/kubernetes

go 1.26.0
MOD
    local staging
    staging=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$staging" | awk '{print $1}' | while read -r m; do
      echo "replace $m => $m $K8S_STAGING_VERSION" >>"$dir/go.mod"
    done
    (cd "$dir" && go get "k8s.io/kubernetes@$K8S_VERSION" >&2 && go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" "k8s.io/kubernetes/cmd/kubectl@$K8S_VERSION" >&2)
    touch "$dir/.ready"
  fi
  echo "$dir"
}

k8s_bin() { # name
  fresh "$1" "$K8S_VERSION" && return
  log "building $1 $K8S_VERSION"
  go_build "$(k8s_module)" "$1" "k8s.io/kubernetes/cmd/$1"
  stamp "$1" "$K8S_VERSION"
}

etcd() {
  fresh etcd "$ETCD_VERSION" && return
  log "building etcd $ETCD_VERSION"
  local dir=$SRC/etcd-$ETCD_VERSION
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<MOD
module modelroute.dev/test-env/etcd

go 1.26.0
MOD
  cat >"$dir/main.go" <<'GO'
// etcd's own entry point (go.etcd.io/etcd/v3/main.go) calls etcdmain.Main the same way.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$dir" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2 && go mod tidy >&2)
  go_build "$dir" etcd .
  stamp etcd "$ETCD_VERSION"
}

go_tool() { # name version module pkg
  fresh "$1" "$2" && return
  log "building $1 $2"
  local dir=$SRC/$1-$2
  mkdir -p "$dir"
  [ -f "$dir/go.mod" ] || printf 'module modelroute.dev/test-env/%s\n\ngo 1.26.0\n' "$1" >"$dir/go.mod"
  (cd "$dir" && go get "$3@$2" >&2 && go get "$4@$2" >&2)
  go_build "$dir" "$1" "$4"
  stamp "$1" "$2"
}

helm() { go_tool helm "$HELM_VERSION" helm.sh/helm/v3 helm.sh/helm/v3/cmd/helm; }
jaeger() { go_tool jaeger "$JAEGER_VERSION" github.com/jaegertracing/jaeger github.com/jaegertracing/jaeger/cmd/jaeger; }

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(redis etcd kube-apiserver kubectl jaeger helm kube-controller-manager)
total_start=$SECONDS
for c in "${components[@]}"; do
  case "$c" in
    redis) redis ;;
    etcd) etcd ;;
    kube-apiserver | kube-controller-manager | kubectl) k8s_bin "$c" ;;
    helm) helm ;;
    jaeger) jaeger ;;
    *) log "unknown component $c"; exit 2 ;;
  esac
done
log "test env ready in $((SECONDS - total_start))s: $BIN"
echo "$BIN"
