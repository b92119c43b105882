#!/usr/bin/env bash
# gen.sh regenerates ../use_golden.json: reference USE-lite vectors computed by
# TF.js (pure-JS CPU backend) in Node, for the Go golden test. Needs Node and npm;
# installs the npm packages into a scratch directory, never into the repository.
# Usage: internal/embed/testdata/tfjs/gen.sh [MODEL_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
model="${1:-$("$here/../../../../scripts/fetch-model.sh")}"
work="${TFJS_WORK_DIR:-$(mktemp -d)}"
(cd "$work" && [[ -f package.json ]] || npm init -y >/dev/null)
(cd "$work" && npm install --no-audit --no-fund --silent \
	@tensorflow/tfjs@4.22.0 @energetic-ai/embeddings@0.2.0 @energetic-ai/core@0.2.0 >/dev/null)
cp "$here/tokenize.js" "$here/golden.js" "$work/"
node "$work/tokenize.js" "$model" "$here/sentences.json" >"$work/ids.json"
node "$work/golden.js" "$model" "$here/sentences.json" "$work/ids.json" >"$here/../use_golden.json"
echo "wrote $here/../use_golden.json" >&2
