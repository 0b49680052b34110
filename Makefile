# The two commands of the README:
#   make run   install what is missing, build, create ./var/kura with a demo tenant, serve
#   make test  build with -Werror + AddressSanitizer + UndefinedBehaviorSanitizer, run ctest;
#              then the fuzz corpus replay in a clang build (build-fuzz, scripts/test-fuzz.sh),
#              then a Release build with the tests on (build-release), which must compile cleanly
# Other targets: build, clean, bench.
DATA ?= var/kura
LISTEN ?= 127.0.0.1:8443
JOBS ?= $(shell nproc)

.PHONY: all build run test test-fuzz clean deps test-deps

all: build

deps:
	./scripts/deps.sh

test-deps:
	./scripts/deps.sh --test

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKURA_SANITIZE= -DKURA_TESTS=OFF >/dev/null
	cmake --build build -j $(JOBS)

run: build
	@if [ ! -d $(DATA) ]; then mkdir -p $(dir $(DATA)) && ./build/kura init --data $(DATA) --demo; fi
	@# the demo started as root (a container, a fresh VM) keeps root, said so in the log;
	@# a deployment drops to [server] user (docs/operations.md "Running as root")
	@if [ "$$(id -u)" = 0 ] && ! grep -q '^user *=' $(DATA)/kura.conf; then \
		printf '\n# make run as root: the demo keeps root (docs/operations.md "Running as root")\n[server]\nuser = root\n' >> $(DATA)/kura.conf; fi
	./build/kura serve --data $(DATA) --listen $(LISTEN)

test: test-deps
	cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DKURA_SANITIZE=address,undefined >/dev/null
	cmake --build build-test -j $(JOBS)
	cd build-test && ctest --output-on-failure -j $(JOBS)
	./scripts/test-fuzz.sh $(JOBS)
	@# Release with the tests on must compile warning-free (-Werror); a packager builds
	@# Release with -DKURA_TESTS=OFF (no KURA_TEST_* seams), as make build does
	cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DKURA_SANITIZE= >/dev/null
	cmake --build build-release -j $(JOBS)

# libFuzzer targets need clang: a second build dir; a loud banner when clang is missing.
test-fuzz: test-deps
	./scripts/test-fuzz.sh $(JOBS)

clean:
	rm -rf build build-test build-fuzz build-release
