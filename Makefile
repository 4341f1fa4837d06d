# OpenCPO build and checks. `make test` is the one test command (README, CI).
GO ?= go
STATICCHECK_VERSION := v0.8.2
BIN := bin/opencpo

.PHONY: build test check lint vet staticcheck generate bench clean assets demo

build:
	$(GO) build -o $(BIN) ./cmd/opencpo

# The console's front-end bundle (uPlot from npm, bundled by esbuild into web/dist, which the
# binary embeds). Without it the console works and leaves out the session chart.
assets:
	cd web && npm ci --no-audit --no-fund && npm run build

# The README's demo with the console's chart bundle built first.
demo: assets
	$(GO) run ./cmd/opencpo demo

# Everything CI checks: formatting, vet, staticcheck, and the tests with the race detector.
test: lint
	$(GO) test -race -count=1 -timeout 25m ./...

lint: vet staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	@command -v staticcheck >/dev/null 2>&1 || [ -x "$$($(GO) env GOPATH)/bin/staticcheck" ] || \
		$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@PATH="$$($(GO) env GOPATH)/bin:$$PATH" staticcheck ./...

# Regenerate the OCPP types from the official schemas in ../shared/ocpp.
generate:
	$(GO) generate ./internal/ocpp/...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin web/dist/*.js web/dist/*.css
