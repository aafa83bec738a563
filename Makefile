# Everyday commands. Each has a make-free equivalent, shown on its line.
.PHONY: build test test-pg test-encrypted race lint openapi fuzz bench demo ci

build:            ## go build -o banyan ./cmd/banyan
	go build -o banyan ./cmd/banyan

test:             ## go test ./...
	go test ./...

SQL_PKGS = ./internal/store/... ./internal/audit/ ./internal/auth/ ./internal/dispatch/ ./internal/feed/ ./internal/ledger/ ./internal/project/ ./internal/report/ ./internal/review/ ./internal/training/ ./internal/webhook/ ./internal/uplink/

test-pg:          ## the tests of every package with SQL, on PostgreSQL (set BANYAN_TEST_POSTGRES_URL)
	BANYAN_TEST_ENGINE=postgres go test -count=1 $(SQL_PKGS)

test-encrypted:   ## the tests of every package with SQL, on SQLite encrypted at rest
	BANYAN_TEST_ENGINE=encrypted go test -count=1 $(SQL_PKGS)

race:             ## the packages that run concurrent code, under the race detector
	go test -race ./internal/store/ ./internal/api/ ./internal/dispatch/ ./internal/sim/ ./internal/uplink/ ./internal/center/ ./internal/cli/

lint:             ## gofmt -l . (must print nothing) and go vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...

openapi:          ## regenerate docs/openapi.json and docs/openapi-center.json (a test fails when either is stale)
	go run ./cmd/banyan openapi > docs/openapi.json
	go run ./cmd/banyan openapi --center > docs/openapi-center.json

fuzz:             ## scripts/fuzz-long.sh: every fuzz target for 5m30s (about ten CPU-minutes each on two cores)
	scripts/fuzz-long.sh

bench:            ## go test -run '^$$' -bench . ./...
	go test -run '^$$' -bench . ./...

demo:             ## go run ./cmd/banyan demo --exit
	go run ./cmd/banyan demo --exit

ci:               ## bash .ci/run
	bash .ci/run
