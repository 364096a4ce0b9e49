# Thin wrapper around CMake. `make demo`, `make test`, `make bench`, `make fuzz`, `make deb`.
BUILD    ?= build
SANITIZE ?= 0
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
PY       ?= /usr/bin/python3
CMAKE_FLAGS = -DTW_SANITIZE=$(if $(filter 1,$(SANITIZE)),ON,OFF)

.PHONY: all deps build demo test bench bench-live fuzz deb clean

all: build

deps:
	@bash .ci/deps

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@$(PY) tests/demo.py --sensor $(BUILD)/tokenwatch --logdir $(BUILD)/demo-logs

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	@$(PY) tests/bench/run_bench.py --sensor $(BUILD)/tokenwatch --rawloop $(BUILD)/rawloop \
		--workdir $(BUILD)/bench
	@$(PY) tests/bench/run_stress.py --sensor $(BUILD)/tokenwatch --workdir $(BUILD)/bench
	@$(PY) tests/bench/bench_goals.py --sensor $(BUILD)/tokenwatch --rawloop $(BUILD)/rawloop \
		--workdir $(BUILD)/bench --pcap $(BUILD)/bench/bench-200mb.pcap
	@$(PY) tests/bench/bench_fleet.py --sensor $(BUILD)/tokenwatch \
		--workdir $(BUILD)/bench --pcap $(BUILD)/bench/bench-200mb.pcap

# Live capture throughput through a veth pair (root): tests/live/bench_live.py.
bench-live: build
	@$(PY) tests/live/bench_live.py --sensor $(BUILD)/tokenwatch \
		--pcap $(BUILD)/bench/bench-200mb.pcap --workdir $(BUILD)/bench-live

fuzz:
	@TW_WITH_FUZZ=1 bash .ci/deps
	@CC=clang cmake -S . -B build-fuzz -DTW_FUZZ=ON -DTW_SANITIZE=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@$(PY) tests/fuzz/run_fuzz.py --build build-fuzz --seconds $${FUZZ_SECONDS:-60}

# The Debian package: a Release build installed under /usr (config in /etc/tokenwatch), by CPack
# (packaging/install.cmake); the .deb lands in build-deb/.
deb: deps
	@cmake -S . -B build-deb -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >/dev/null
	@cmake --build build-deb --target tokenwatch -j $(JOBS)
	@cd build-deb && cpack -G DEB

clean:
	rm -rf build build-asan build-fuzz build-deb
