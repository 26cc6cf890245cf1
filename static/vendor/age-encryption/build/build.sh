#!/bin/sh
# Rebuilds ../age.min.js and the licence files beside it from the versions pinned in package-lock.json.
# Development only: nothing here runs in CI or when Sunbid serves pages (the bundle is committed).
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm run build
m=node_modules
cp $m/age-encryption/LICENSE ../LICENSE
cp $m/@noble/ciphers/LICENSE ../LICENSE.noble-ciphers
cp $m/@noble/curves/LICENSE ../LICENSE.noble-curves
cp $m/@noble/hashes/LICENSE ../LICENSE.noble-hashes
cp $m/@noble/post-quantum/LICENSE ../LICENSE.noble-post-quantum
cp $m/@scure/base/LICENSE ../LICENSE.scure-base
echo "SHA-256 $(sha256sum ../age.min.js | cut -d' ' -f1)"
echo "sha384-$(openssl dgst -sha384 -binary ../age.min.js | openssl base64 -A)"
