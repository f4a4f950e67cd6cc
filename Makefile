# vmm: a small KVM virtual machine monitor for x86-64.
# make           build build/vmm and the guest-firmware payloads
# make check     unit tests (ASan/UBSan) and integration tests on /dev/kvm
# make guest     the guest Linux kernel and initramfs (build/guest/)
# make e2e       Linux boot tests (slow: they boot the guest kernel)
# make bench     benchmarks against a raw KVM_RUN loop and QEMU
# make fuzz      the virtio-blk fuzzer for a bounded time
# Missing Debian packages are installed (apt-get) when a target needs them.

CC ?= gcc
ifeq ($(origin CC),default)
CC := gcc
endif
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror
BASE_CFLAGS := -std=gnu11 $(WARN) -Ivmm -Idevices -MMD -MP -pthread
LDLIBS := -laio -lfdt -lpthread
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

SRCS := $(wildcard vmm/*.c devices/*.c)
OBJS := $(patsubst %.c,build/obj/%.o,$(SRCS))
LIB_OBJS := $(filter-out build/obj/vmm/main.o,$(OBJS))
SAN_OBJS := $(patsubst build/obj/%,build/san/%,$(LIB_OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,build/tests/%,$(UNIT_SRCS))
HOST_TOOLS := $(patsubst tests/tools/%.c,build/tests/%,$(wildcard tests/tools/*.c))

DEPS_STAMP = build/.deps-$(1)
deps = $(call DEPS_STAMP,$(1))

.SECONDARY: $(OBJS) $(SAN_OBJS) $(addprefix build/.deps-,build check guest bench fuzz)
.PHONY: all check unit integration e2e guest bench fuzz format format-check clean
all: build/vmm firmware

build/.deps-%:
	@mkdir -p build
	@scripts/deps.sh $*
	@touch $@

build/obj/%.o: %.c | $(call deps,build)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -c -o $@ $<

build/san/%.o: %.c | $(call deps,build)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 -g $(SAN) -c -o $@ $<

build/vmm: $(OBJS)
	$(CC) $(CFLAGS) -pthread -o $@ $^ $(LDLIBS)

build/tests/test_%: tests/unit/test_%.c $(SAN_OBJS) | $(call deps,check)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 -g $(SAN) -o $@ $< $(SAN_OBJS) -lcmocka $(LDLIBS)

build/tests/%: tests/tools/%.c | $(call deps,build)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) -o $@ $< $(LDLIBS)

include guest-firmware/Makefile.inc
-include tests/fuzz/Makefile.inc
firmware: $(FIRMWARE_ELFS)

# "make check e2e" runs everything once, in that order, under one summary.
ifneq ($(filter check,$(MAKECMDGOALS)),)
ifneq ($(filter e2e,$(MAKECMDGOALS)),)
CHECK_WITH_E2E := 1
endif
endif

check: build/vmm firmware $(UNIT_TESTS) $(HOST_TOOLS) | $(call deps,check)
	@$(if $(CHECK_WITH_E2E),true,tests/run.sh unit integration)

unit: $(UNIT_TESTS)
	@tests/run.sh unit

integration: build/vmm firmware $(HOST_TOOLS) | $(call deps,check)
	@tests/run.sh integration

guest: | $(call deps,guest)
	@scripts/build-guest.sh

e2e: build/vmm firmware guest $(HOST_TOOLS) | $(call deps,check)
	@tests/run.sh $(if $(CHECK_WITH_E2E),unit integration e2e,e2e)

bench: build/vmm firmware $(HOST_TOOLS) | $(call deps,bench)
	@scripts/bench.sh

FORMAT_SRCS = $(SRCS) $(wildcard vmm/*.h devices/*.h tests/unit/*.[ch] tests/tools/*.c tests/fuzz/*.c)
format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	clang-format --dry-run --Werror $(FORMAT_SRCS)

clean:
	rm -rf build/obj build/san build/tests build/vmm build/guest-firmware

-include $(OBJS:.o=.d) $(SAN_OBJS:.o=.d) $(UNIT_TESTS:=.d) $(HOST_TOOLS:=.d)
