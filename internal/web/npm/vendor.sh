#!/usr/bin/env bash
# Copies the pinned npm packages' built files into the Go package, where
# go:embed serves them (Leaflet) or the browser tests inject them
# (axe-core). Reproducible: npm ci installs exactly package-lock.json.
# Run it after changing package.json; commit what it copies.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --ignore-scripts --no-audit --no-fund
dst=../static/vendor/leaflet
rm -rf "$dst" && mkdir -p "$dst/images"
cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css "$dst/"
cp node_modules/leaflet/dist/images/*.png "$dst/images/"
cp node_modules/leaflet/LICENSE "$dst/LICENSE"
axe=../testdata/axe
rm -rf "$axe" && mkdir -p "$axe"
cp node_modules/axe-core/axe.min.js node_modules/axe-core/LICENSE "$axe/"
echo "leaflet $(node -p "require('./node_modules/leaflet/package.json').version"), axe-core $(node -p "require('./node_modules/axe-core/package.json').version") copied"
