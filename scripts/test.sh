#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it. Fails on the first failure.
#
# PostgreSQL: tests use NEXUS_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
# Without a reachable server those tests are skipped with a notice, unless
# NEXUS_TEST_POSTGRES=require (CI sets it), which makes them fail instead.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "formatting"
cargo fmt --all --check

step "lints"
cargo clippy --workspace --all-targets -- -D warnings

step "Rust tests (SQLite and PostgreSQL)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace
fi

if [ -f web/package.json ]; then
  step "web: install, typecheck, unit tests, build"
  (cd web && npm ci --no-audit --no-fund && npm run typecheck && npm test && npm run build)

  step "web: end-to-end tests in headless Chromium"
  if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
      echo "chromium is missing: install Debian's chromium package (apt-get install chromium)" >&2
      exit 1
    fi
  fi
  # The binary serves the freshly built web/dist itself (debug builds read it from disk);
  # the fake AI provider is a real server speaking the OpenAI protocol.
  cargo build -p nexus-server -p nexus-testkit --bins
  target_dir="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)"
  (cd web && E2E_SERVE=nexus NEXUS_BIN="$target_dir/debug/nexus" NEXUS_FAKE_AI_BIN="$target_dir/debug/nexus-fake-ai" npm run e2e)
fi

step "all tests passed"
