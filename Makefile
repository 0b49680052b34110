# The two commands of the README:
#   make run   install what is missing, build, create ./var/kura with a demo tenant, serve
#   make test  build with -Werror + AddressSanitizer + UndefinedBehaviorSanitizer, run ctest
# Other targets: build, clean, bench.
DATA ?= var/kura
LISTEN ?= 127.0.0.1:8443
JOBS ?= $(shell nproc)

.PHONY: all build run test clean deps test-deps

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
	./build/kura serve --data $(DATA) --listen $(LISTEN)

test: test-deps
	cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DKURA_SANITIZE=address,undefined >/dev/null
	cmake --build build-test -j $(JOBS)
	cd build-test && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf build build-test
