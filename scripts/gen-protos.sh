#!/usr/bin/env bash
# Generates the protobuf encoders/decoders (protobufjs static modules + typings) from protos/.
# Goma's wire protocol goes to lib/goma/gen/, REAPI + ByteStream + longrunning + rpc to lib/reapi/gen/.
# (lib/reapi/gen/ also holds the subset of Buildbarn's BuildQueueState that goma doctor reads.)
# googleapis protos come from the npm package google-proto-files. Output is not committed.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=node_modules/.bin
gp=node_modules/google-proto-files
gen() { # gen <root-name> <out.js> <protos...>
  local root=$1 out=$2; shift 2
  mkdir -p "$(dirname "$out")"
  "$bin/pbjs" -t static-module -w es6 --es6 -r "$root" --no-beautify --no-delimited --no-verify --no-convert \
    --force-number -p protos -p "$gp" -o "$out" "$@"
  # protobufjs 8 exposes its runtime as ESM via the package's "exports"; keep the import explicit.
  sed -i 's#from "protobufjs/minimal"#from "protobufjs/minimal.js"#' "$out"
  "$bin/pbts" --no-comments -o "${out%.js}.d.ts" "$out"
}
stamp=lib/.gen-stamp
src_hash=$(cat protos/**/*.proto protos/build/bazel/*/*.proto protos/build/bazel/remote/execution/v2/*.proto scripts/gen-protos.sh 2>/dev/null | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$src_hash" ] && [ -f lib/goma/gen/goma.js ] && [ -f lib/reapi/gen/reapi.js ]; then exit 0; fi
gen goma lib/goma/gen/goma.js protos/goma/goma_data.proto
gen reapi lib/reapi/gen/reapi.js protos/build/bazel/remote/execution/v2/remote_execution.proto \
  "$gp/google/bytestream/bytestream.proto" "$gp/google/rpc/error_details.proto" protos/buildbarn/buildqueuestate.proto
echo "$src_hash" > "$stamp"
