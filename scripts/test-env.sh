#!/usr/bin/env bash
# Provisions the real control plane the tests run against, idempotently, into a cache outside git.
#   scripts/test-env.sh [component...]   (default: all)
# Components: redis etcd kube-apiserver kube-controller-manager kubectl helm jaeger
# Prints the bin directory on the last line of stdout. Progress goes to stderr.
# Cache: $MODELROUTE_TEST_ENV, else $XDG_CACHE_HOME/modelroute/test-env, else ~/.cache/modelroute/test-env.
set -euo pipefail

K8S_VERSION=v1.36.3
K8S_STAGING_VERSION=v0.36.3
ETCD_VERSION=v3.6.8
HELM_VERSION=v3.19.5
JAEGER_VERSION=v1.76.0 # Go module tag of the Jaeger v2.13.0 release (cmd/jaeger is the v2 binary)
JAEGER_V2_VERSION=v2.13.0
# Bump when the build recipe (ldflags...) changes, so cached binaries are rebuilt.
RECIPE=2

CACHE=${MODELROUTE_TEST_ENV:-${XDG_CACHE_HOME:-$HOME/.cache}/modelroute/test-env}
BIN=$CACHE/bin
SRC=$CACHE/src
mkdir -p "$BIN" "$SRC"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false -trimpath"
export CGO_ENABLED=0
BUILD_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)

log() { printf '[test-env %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Each binary is stamped with the version (and recipe) it was built from, so a bump rebuilds it.
fresh() { [ -x "$BIN/$1" ] && [ "$(cat "$BIN/$1.version" 2>/dev/null)" = "$2 recipe-$RECIPE" ]; }
stamp() { echo "$2 recipe-$RECIPE" >"$BIN/$1.version"; }

need_go() {
  command -v go >/dev/null || die "Go is required to build the test binaries (https://go.dev/dl/); it was not found on PATH"
}

# Installs a Debian package when running as root, otherwise says which package is missing.
apt_install() { # command package
  command -v "$1" >/dev/null && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing Debian package $2"
    (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; }) >&2
  fi
  command -v "$1" >/dev/null || die "$1 is missing: install the Debian package '$2' (apt-get install $2)"
}

# go build with a heartbeat, since a cold Kubernetes build is silent for minutes.
go_build() { # dir out pkg [ldflags]
  local dir=$1 out=$2 pkg=$3 ldflags="-s -w ${4:-}" start=$SECONDS
  (cd "$dir" && go build -mod=mod -ldflags="$ldflags" -o "$BIN/$out.tmp" "$pkg") &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 15 # progress heartbeat only; `wait` below is the synchronisation
    kill -0 "$pid" 2>/dev/null && log "  building $out... $((SECONDS - start))s"
  done
  wait "$pid" || die "go build of $pkg failed (see the output above)"
  mv "$BIN/$out.tmp" "$BIN/$out"
  log "built $out in $((SECONDS - start))s"
}

redis() {
  apt_install redis-server redis-server
  ln -sf "$(command -v redis-server)" "$BIN/redis-server"
}

k8s_module() {
  local dir=$SRC/kubernetes-$K8S_VERSION
  if [ ! -f "$dir/.ready" ]; then
    log "preparing go module for k8s.io/kubernetes $K8S_VERSION (staging modules -> $K8S_STAGING_VERSION)"
    mkdir -p "$dir"
    printf 'module modelroute.dev/test-env/kubernetes\n\ngo 1.26.0\n' >"$dir/go.mod"
    local gomod
    gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    [ -f "$gomod" ] || die "could not download k8s.io/kubernetes@$K8S_VERSION"
    # k8s.io/kubernetes replaces its staging modules with ./staging/...: map each to its published release.
    grep -oE '^\s*k8s\.io/[a-z0-9-]+ => \./staging' "$gomod" | awk '{print $1}' | while read -r m; do
      echo "replace $m => $m $K8S_STAGING_VERSION" >>"$dir/go.mod"
    done
    (cd "$dir" && go get "k8s.io/kubernetes@$K8S_VERSION" >&2 &&
      go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" "k8s.io/kubernetes/cmd/kubectl@$K8S_VERSION" >&2)
    touch "$dir/.ready"
  fi
  echo "$dir"
}

# What hack/lib/version.sh stamps into release builds: without it the binaries say v0.0.0-master.
k8s_ldflags() {
  local minor=${K8S_VERSION#v1.}
  minor=${minor%%.*}
  local flags="" pkg
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    flags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$BUILD_DATE"
  done
  echo "$flags"
}

k8s_bin() { # name
  fresh "$1" "$K8S_VERSION" && return
  need_go
  log "building $1 $K8S_VERSION"
  go_build "$(k8s_module)" "$1" "k8s.io/kubernetes/cmd/$1" "$(k8s_ldflags)"
  stamp "$1" "$K8S_VERSION"
}

etcd() {
  fresh etcd "$ETCD_VERSION" && return
  need_go
  log "building etcd $ETCD_VERSION"
  local dir=$SRC/etcd-$ETCD_VERSION
  mkdir -p "$dir"
  printf 'module modelroute.dev/test-env/etcd\n\ngo 1.26.0\n' >"$dir/go.mod"
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

go_module_dir() { # name version module pkg
  local dir=$SRC/$1-$2
  mkdir -p "$dir"
  if [ ! -f "$dir/.ready" ]; then
    printf 'module modelroute.dev/test-env/%s\n\ngo 1.26.0\n' "$1" >"$dir/go.mod"
    (cd "$dir" && go get "$3@$2" >&2 && go get "$4@$2" >&2)
    touch "$dir/.ready"
  fi
  echo "$dir"
}

helm() {
  fresh helm "$HELM_VERSION" && return
  need_go
  log "building helm $HELM_VERSION"
  local dir
  dir=$(go_module_dir helm "$HELM_VERSION" helm.sh/helm/v3 helm.sh/helm/v3/cmd/helm)
  # As helm's Makefile: its version, and the Kubernetes version of its client-go for .Capabilities.
  local kv major minor
  kv=$(cd "$dir" && go list -mod=mod -m -f '{{.Version}}' k8s.io/client-go) # v0.34.x
  kv=${kv#v0.}
  major=1 minor=${kv%%.*}
  go_build "$dir" helm helm.sh/helm/v3/cmd/helm "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
    -X helm.sh/helm/v3/internal/version.gitTreeState=clean -X helm.sh/helm/v3/internal/version.metadata= \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
  stamp helm "$HELM_VERSION"
}

jaeger() {
  fresh jaeger "$JAEGER_VERSION" && return
  need_go
  log "building jaeger $JAEGER_V2_VERSION (module $JAEGER_VERSION)"
  local dir v=github.com/jaegertracing/jaeger/internal/version
  dir=$(go_module_dir jaeger "$JAEGER_VERSION" github.com/jaegertracing/jaeger github.com/jaegertracing/jaeger/cmd/jaeger)
  go_build "$dir" jaeger github.com/jaegertracing/jaeger/cmd/jaeger \
    "-X $v.latestVersion=$JAEGER_V2_VERSION -X $v.date=$BUILD_DATE"
  stamp jaeger "$JAEGER_VERSION"
}

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(redis etcd kube-apiserver kubectl kube-controller-manager helm jaeger)
total_start=$SECONDS
apt_install openssl openssl # the test helpers generate certificates with it
for c in "${components[@]}"; do
  case "$c" in
    redis) redis ;;
    etcd) etcd ;;
    kube-apiserver | kube-controller-manager | kubectl) k8s_bin "$c" ;;
    helm) helm ;;
    jaeger) jaeger ;;
    *) die "unknown component $c (known: redis etcd kube-apiserver kube-controller-manager kubectl helm jaeger)" ;;
  esac
done
log "test env ready in $((SECONDS - total_start))s: $BIN"
echo "$BIN"
