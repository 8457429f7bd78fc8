#!/usr/bin/env bash
# Release executables with `deno compile` for every platform ccmux ships on.
#
#   scripts/release_deno.sh [TARGET...]     (default: all five below)
#
# Writes dist/release/ccmux-<os>-<arch>[.exe] and dist/release/SHA256SUMS.
#
# deno compile downloads a `denort` runtime per target from dl.deno.land. The development
# machines of this project cannot reach it, so this script runs on release machines only
# (.github/workflows/release.yml); the single executable built and tested here is the Node SEA
# (npm run build:bin). DENORT_BIN=/path/to/denort makes deno use a local runtime instead.
#
# What gets embedded: deno compile embeds the module graph of main.ts plus the whole
# node_modules folder. The repository's node_modules holds the dev tools (deno itself, esbuild,
# typescript: ~250 MB), so the compile runs in a staging folder holding only main.ts, src/,
# package.json, package-lock.json, deno.json and a production-only `npm ci --omit=dev`
# (hono, @hono/node-server, oauth4webapi, smol-toml). tests/, docs/, scripts/ and config/
# never enter the binary. --no-check: the staging folder has no @types/node; the workflow
# type-checks the full install (npm run check) before this script runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ALL_TARGETS=(
  "x86_64-unknown-linux-gnu:linux-x64"
  "aarch64-unknown-linux-gnu:linux-arm64"
  "x86_64-apple-darwin:macos-x64"
  "aarch64-apple-darwin:macos-arm64"
  "x86_64-pc-windows-msvc:windows-x64"
)

# A deno on PATH (release workflow: denoland/setup-deno), else the npm devDependency.
DENO=${DENO:-$(command -v deno || echo "$ROOT/node_modules/.bin/deno")}
"$DENO" --version | head -1

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/ccmux-release-XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
cp -R main.ts src package.json package-lock.json deno.json "$STAGE/"
(cd "$STAGE" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)

OUT=$ROOT/dist/release
mkdir -p "$OUT"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=("${ALL_TARGETS[@]}"); fi

for entry in "${targets[@]}"; do
  target=${entry%%:*}
  name=${entry#*:}
  if [ "$name" = "$entry" ]; then # a bare target triple was given
    for known in "${ALL_TARGETS[@]}"; do
      if [ "${known%%:*}" = "$target" ]; then name=${known#*:}; fi
    done
  fi
  ext=""
  case "$target" in *windows*) ext=".exe" ;; esac
  echo "== deno compile $target → dist/release/ccmux-$name$ext"
  (cd "$STAGE" && "$DENO" compile \
    --target "$target" \
    --output "$OUT/ccmux-$name$ext" \
    --allow-net --allow-read --allow-write --allow-env --allow-run --allow-sys \
    --no-prompt \
    --no-check \
    main.ts)
done

(cd "$OUT" && for f in ccmux-*; do
  if command -v sha256sum >/dev/null; then sha256sum "$f"; else shasum -a 256 "$f"; fi
done >SHA256SUMS)
ls -l "$OUT"
