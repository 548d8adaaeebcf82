# tcpscope: the two commands of the README, wrapping Meson + Ninja.
BUILD ?= build

.PHONY: all build run test test-asan fuzz bench clean format

all: build

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Installs missing build dependencies, builds, prints one snapshot.
run:
	scripts/deps.sh build
	$(MAKE) build
	./$(BUILD)/src/tcpscope --once

# Installs test dependencies, builds (-Werror) and runs every suite, plain
# and under ASan+UBSan; ends with "N passed, N failed, N skipped".
test:
	scripts/test.sh

bench: build
	bench/run.sh

fuzz:
	scripts/fuzz.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-ci build-asan build-fuzz
