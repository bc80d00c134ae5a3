# nf-prefrag: kernel modules, iptables plugins, tests.
#
#   make              build the modules for every installed kernel, and the plugins
#   make setup        install what building and testing need (Debian packages)
#   make demo         boot a guest kernel and show PREFRAG on real packets
#   make check        the test suite (userspace checks, then the guest suites)
#   make bench        benchmarks (not part of the tests)

TOP       := $(abspath .)
BUILD     := $(TOP)/build
# Every kernel with headers installed; the guest tests use the 6.1 one.
KVERS     ?= $(notdir $(patsubst %/build,%,$(wildcard /lib/modules/*/build)))
W         ?= 1

XT_CFLAGS := -O2 -g -Wall -Wextra -Wno-unused-parameter -Werror -fPIC -I$(TOP)/kernel/include/uapi \
	     $(shell pkg-config --cflags xtables 2>/dev/null)
XT_LIBS   := $(shell pkg-config --libs xtables 2>/dev/null)
XT_PLUGINS := $(patsubst libxt/%.c,$(BUILD)/libxt/%.so,$(wildcard libxt/libxt_*.c))

all: modules plugins

setup:
	sh scripts/install-deps.sh

modules:
	@set -e; for v in $(KVERS); do \
		d=$(BUILD)/kernel/$$v; mkdir -p $$d; \
		cp -rsf $(TOP)/kernel/. $$d/; \
		echo "== modules for $$v"; \
		$(MAKE) -s -C /lib/modules/$$v/build M=$$d W=$(W) NF_PREFRAG_WERROR=y modules; \
	done

# REJECT replaces iptables' own plugins, which are found by these names.
plugins: $(XT_PLUGINS)
	@ln -sf libxt_REJECT.so $(BUILD)/libxt/libipt_REJECT.so
	@ln -sf libxt_REJECT.so $(BUILD)/libxt/libip6t_REJECT.so

$(BUILD)/libxt/%.so: libxt/%.c kernel/include/uapi/linux/netfilter/*.h
	@mkdir -p $(dir $@)
	$(CC) $(XT_CFLAGS) -shared -o $@ $< $(XT_LIBS)

demo: all
	/usr/bin/python3 tests/guest/vm.py --timeout 600 -- /usr/bin/python3 tests/demo/demo.py

check: all
	sh tests/run-tests.sh

bench: all
	/usr/bin/python3 tests/guest/vm.py --timeout 1200 -- /usr/bin/python3 tests/bench/bench_prefrag.py

checkpatch:
	sh scripts/checkpatch.sh

clean:
	rm -rf $(BUILD)

.PHONY: all setup modules plugins demo check bench checkpatch clean
