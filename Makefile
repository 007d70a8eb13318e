# The README's two commands: `make demo` and `make test`.  Each installs
# the Debian packages it needs, configures and builds on its own.
PRESET ?= debug
BUILD := build/$(PRESET)

.PHONY: all deps build demo test asan bench fuzz clean

all: build

deps:
	@sh scripts/deps.sh

build: deps
	@test -f $(BUILD)/build.ninja || cmake --preset $(PRESET)
	cmake --build --preset $(PRESET)

demo: build
	@sh scripts/demo.sh $(BUILD)/hallmark

test: build
	ctest --preset $(PRESET)

asan:
	$(MAKE) test PRESET=asan-ubsan

bench:
	$(MAKE) build PRESET=release
	build/release/bench-issue 3 100000 build/release/hallmark
	build/release/bench-crl 100000 1000000
	build/release/bench-ocsp 5 8 build/release/hallmark
	build/release/bench-enroll 5 16 build/release/hallmark

fuzz:
	@sh scripts/deps.sh scripts/debian-packages-fuzz
	FUZZ_SECONDS=$${FUZZ_SECONDS:-60} sh fuzz/run.sh

clean:
	rm -rf build
