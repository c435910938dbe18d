# segflow: the two commands in README.md are `make quickstart` and `make test`.
SHELL := /bin/bash
SWIFT ?= swift
SEGFLOW := .build/release/segflow
SYSTEM_PACKAGES := libyaml-dev libsqlite3-dev libpng-dev libjpeg62-turbo-dev pkg-config python3-venv python3-dev g++ libcurl4-openssl-dev ffmpeg graphviz libfreetype-dev libfontconfig-dev fontconfig fonts-wqy-microhei
# The Swift runtime linked in: a 10k-image `segflow plan` spends ~20 ms less resolving shared-library
# symbols at start (static Foundation needs libcurl's headers and archive: libcurl4-openssl-dev).
# Static FoundationNetworking asks the linker for libcurl; segflow opens it on first use instead
# (Sources/CCurlLoader: ~11 ms less at every start, libcurl pulls in ~30 libraries), so that request is dropped.
RELEASE_FLAGS := -c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -disable-autolink-library -Xswiftc -Xfrontend -Xswiftc curl

.PHONY: quickstart test deps build build-info release install plugins bench clean fuzz sanitize
PREFIX ?= /usr/local
DESTDIR ?=
BUILD_INFO := Sources/CBuildInfo/commit.h

## deps: install missing system packages (when run as root on Debian).
deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing: $$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else echo "missing system packages: $$missing (run: sudo apt-get install $$missing)"; exit 1; fi; \
	fi

## build-info: the commit `segflow --version` prints, rewritten only when it changes (no needless rebuild).
build-info:
	@commit=$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown); \
	if [ "$$commit" != unknown ] && ! git diff --quiet HEAD -- 2>/dev/null; then commit=$$commit-dirty; fi; \
	line="#define SEGFLOW_COMMIT \"$$commit\""; \
	if [ "$$(cat $(BUILD_INFO) 2>/dev/null)" != "$$line" ]; then echo "$$line" > $(BUILD_INFO); touch Sources/CBuildInfo/build_info.c; fi

release: deps build-info
	$(SWIFT) build $(RELEASE_FLAGS) --product segflow

build: deps build-info
	$(SWIFT) build

## install: the binary to $(DESTDIR)$(PREFIX)/bin, the plugins to $(DESTDIR)$(PREFIX)/share/segflow/plugins
## (segflow finds them from its own path: bin/../share/segflow/plugins).
install: release
	install -d "$(DESTDIR)$(PREFIX)/bin" "$(DESTDIR)$(PREFIX)/share/segflow/plugins"
	install -m 755 $(SEGFLOW) "$(DESTDIR)$(PREFIX)/bin/segflow"
	for p in plugins/*/; do \
	  name=$$(basename "$$p"); dest="$(DESTDIR)$(PREFIX)/share/segflow/plugins/$$name"; \
	  rm -rf "$$dest" && mkdir -p "$$dest" && \
	  tar -C "$$p" --exclude=__pycache__ --exclude='*.pyc' --exclude=tests -cf - . | tar -C "$$dest" -xf - && \
	  chmod -R u+rwX,go+rX "$$dest" || exit 1; \
	done

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

## fuzz: bounded libFuzzer runs (ASan) of the pipeline loader and the PNG/JPEG/NPY decoders, FUZZ_SECONDS each.
FUZZ_SECONDS ?= 60
fuzz: deps
	bash fuzz/run.sh $(FUZZ_SECONDS)

## sanitize: the Swift tests once under AddressSanitizer and once under ThreadSanitizer.
sanitize: deps
	bash .ci/sanitize.sh

bench: release
	bash bench/run.sh

clean:
	rm -rf .build cache/objects cache/index.sqlite* cache/results cache/tmp cache/logs
