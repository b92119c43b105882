#!/usr/bin/env bash
# The whole test suite: what CI runs (.ci/run) and what the README tells you to run.
# It starts what the tests need (PostgreSQL, Redis), fetches the offline embedding
# model and the npm test clients, then runs go vet, gofmt, the Go tests under the race
# detector, and the Node tests (official npm SDKs and the dashboard in headless
# Chromium) against a built arbiter binary. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

step "services"
bash scripts/services.sh

step "offline embedding model"
ARBITER_MODEL_DIR=$(bash scripts/fetch-model.sh | tail -n1)
export ARBITER_MODEL_DIR

step "node test clients"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -x /usr/bin/chromium ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
( cd test/node && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; } )

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...

# These packages' tests are dominated by SQLite work in modernc.org/sqlite (C
# translated to Go), which the race detector slows twenty-fold; the concurrent code
# they rely on (the ledger writer, the stores) is raced in internal/ledger itself.
no_race='/internal/(dashboard|ledger/ledgerbench|ledger/report)$'

step "go test -race"
go test -race -count=1 -timeout 20m $(go list ./... | grep -Ev "$no_race")

step "go test (SQLite-bound packages, without the race detector)"
go test -count=1 -timeout 20m $(go list ./... | grep -E "$no_race")

step "node tests (official npm SDKs, dashboard in headless Chromium)"
mkdir -p bin
go build -o bin/arbiter ./cmd/arbiter
ARBITER_BIN="$root/bin/arbiter" node --test --test-concurrency=1 test/node/
