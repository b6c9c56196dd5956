# The two commands: `make run` and `make test`. Everything else is a step of those.
.PHONY: run test web rust-test web-test lint

# Build the web app and the release binary together, then serve on the embedded defaults.
run: web
	cargo run --release --bin nexus -- serve

# Every test: formatting, lints, the Rust suite on SQLite and PostgreSQL, and the web
# app's unit and end-to-end tests in headless Chromium.
test:
	./scripts/test.sh

web:
	@if command -v npm >/dev/null 2>&1; then \
		cd web && npm ci --no-audit --no-fund && npm run build; \
	else \
		echo "npm not found: serving the API without the web app (install Node.js 20 to build it)"; \
	fi

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
