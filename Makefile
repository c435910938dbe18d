# segflow: the two commands in README.md are `make quickstart` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
SEGFLOW := .build/release/segflow
SYSTEM_PACKAGES := libyaml-dev libsqlite3-dev libpng-dev libjpeg62-turbo-dev pkg-config python3-venv python3-dev g++ libcurl4-openssl-dev ffmpeg
# The Swift runtime linked in: a 10k-image `segflow plan` spends ~20 ms less resolving shared-library
# symbols at start (static Foundation needs libcurl's headers and archive: libcurl4-openssl-dev).
RELEASE_FLAGS := -c release --static-swift-stdlib

.PHONY: quickstart test deps build release plugins bench clean

## deps: install missing system packages (when run as root on Debian).
deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing: $$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing system packages: $$missing (run: sudo apt-get install $$missing)"; exit 1; fi; \
	fi

release: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product segflow

build: deps
	$(SWIFT) build

## plugins: create the plugin environments (shared by every checkout; PyTorch is about 3 GB once).
plugins: release
	$(SEGFLOW) plugins install

## quickstart: the main job, on the bundled CamVid sample.
quickstart: release
	@if [ -f plugins/torch/plugin.yaml ]; then $(SEGFLOW) plugins install; fi
	$(SEGFLOW) run pipelines/quickstart.yaml
	@echo; echo "metrics: cache/results/quickstart/*/score*/metrics/metrics.txt"; echo "pictures: cache/results/quickstart/*/sheets*/sheets/"
	@echo; echo "U-Net trained on each kind of label (scoreMasks: its training masks vs the truth; scoreVal: its predictions on val):"
	@$(SEGFLOW) compare pipelines/quickstart.yaml --metric scoreVal.miou

## test: every test, Swift and Python (the plugin environment is built once per machine).
test: release
	$(SEGFLOW) plugins install
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	cd plugins/torch && "$$(../../$(SEGFLOW) plugins env torch)/bin/python" -m unittest discover -s tests
	bash bench/crf/check.sh

bench: release
	bash bench/run.sh

clean:
	rm -rf .build cache/objects cache/index.sqlite* cache/results cache/tmp cache/logs
