# Thin wrapper over CMake. The two commands of the README:
#   make demo   install what is needed, build, run samples/hello
#   make test   install what is needed, build, run every test
#               (plain build with the VM suite, then ASan, UBSan, TSan)
#   make soak   the data-integrity soak for 10 minutes per backend path
#               (scripts/soak.sh; CI runs it for 60 s)
BUILD ?= build
JOBS ?= 2

.PHONY: all deps demo test soak build clean

all: build

deps:
	scripts/install-deps.sh

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j$(JOBS)

demo:
	scripts/install-deps.sh --no-vm
	$(MAKE) build
	$(BUILD)/samples/hello

test:
	scripts/test-all.sh

soak:
	scripts/soak.sh

clean:
	rm -rf $(BUILD) $(BUILD)-soak $(BUILD)-address $(BUILD)-undefined $(BUILD)-thread $(BUILD)-install
