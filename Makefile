# nf-prefrag: kernel modules, iptables plugins, tests.
#
#   make              build the modules for every installed kernel, and the plugins
#   make setup        install what building and testing need (Debian packages)
#   make demo         boot a guest kernel and show PREFRAG on real packets
#   make check        the test suite (userspace checks, then the guest suites)
#   make bench        benchmarks (not part of the tests)
#   make install      plugins, man page, modprobe.d file (modules: DKMS)
#   make deb          Debian packages (nf-prefrag-dkms, xtables-nf-prefrag) in build/deb

TOP       := $(abspath .)
BUILD     := $(TOP)/build
# Every kernel with headers installed; the guest tests use the 6.1 one.
KVERS     ?= $(notdir $(patsubst %/build,%,$(wildcard /lib/modules/*/build)))
W         ?= 1

XT_CFLAGS := -O2 -g -Wall -Wextra -Wno-unused-parameter -Werror -fPIC -I$(TOP)/kernel/include/uapi \
	     $(shell pkg-config --cflags xtables 2>/dev/null)
XT_LIBS   := $(shell pkg-config --libs xtables 2>/dev/null)
XT_PLUGINS := $(patsubst libxt/%.c,$(BUILD)/libxt/%.so,$(wildcard libxt/libxt_*.c))
XTLIBDIR  := $(shell pkg-config --variable=xtlibdir xtables 2>/dev/null)
NFT_CFLAGS := -O2 -g -Wall -Wextra -Werror -I$(TOP)/kernel/include/uapi \
	     $(shell pkg-config --cflags libnftables libnftnl libmnl 2>/dev/null)
NFT_LIBS  := $(shell pkg-config --libs libnftables libnftnl libmnl 2>/dev/null)
SBINDIR   := /usr/sbin
MANDIR    := /usr/share/man/man8

all: modules plugins nft

# nft-prefrag: nft syntax with our statements (nft/)
nft: $(BUILD)/nft/nft-prefrag

$(BUILD)/nft/nft-prefrag: $(wildcard nft/*.c nft/*.h) kernel/include/uapi/linux/netfilter/*.h
	@mkdir -p $(dir $@)
	$(CC) $(NFT_CFLAGS) -o $@ $(filter %.c,$^) $(NFT_LIBS)

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

# One man page for all our targets, as xtables-addons does.
man: $(BUILD)/nf-prefrag.8

$(BUILD)/nf-prefrag.8: $(wildcard libxt/*.man)
	@mkdir -p $(dir $@)
	@{ printf '.TH NF-PREFRAG 8 "" nf-prefrag "nf-prefrag"\n.SH NAME\n'; \
	   printf 'nf-prefrag \\- iptables targets PREFRAG, CLEARDF and REJECT with the MTU\n'; \
	   printf '.SH TARGETS\n'; \
	   for f in $^; do n=$${f##*/libxt_}; printf '.SS %s\n' "$${n%.man}"; cat $$f; done; \
	 } >$@

# REJECT replaces iptables' own plugins.  On Debian theirs are diverted
# (dpkg-divert), so iptables upgrades leave ours in place and uninstall
# puts theirs back.
install: plugins man nft
	install -d $(DESTDIR)$(XTLIBDIR) $(DESTDIR)/etc/modprobe.d $(DESTDIR)$(MANDIR) \
		$(DESTDIR)$(SBINDIR)
	install -m 0755 $(BUILD)/nft/nft-prefrag $(DESTDIR)$(SBINDIR)/
	install -m 0644 $(BUILD)/libxt/libxt_PREFRAG.so $(BUILD)/libxt/libxt_CLEARDF.so \
		$(DESTDIR)$(XTLIBDIR)/
	@set -e; for f in libipt_REJECT.so libip6t_REJECT.so; do \
		if [ -z "$(DESTDIR)" ] && command -v dpkg-divert >/dev/null; then \
			dpkg-divert --local --rename --divert $(XTLIBDIR)/$$f.iptables \
				--add $(XTLIBDIR)/$$f; \
		fi; \
		install -m 0644 $(BUILD)/libxt/libxt_REJECT.so $(DESTDIR)$(XTLIBDIR)/$$f; \
	done
	install -m 0644 kernel/nf-prefrag.modprobe.conf $(DESTDIR)/etc/modprobe.d/nf-prefrag.conf
	install -m 0644 $(BUILD)/nf-prefrag.8 nft/nft-prefrag.8 $(DESTDIR)$(MANDIR)/

uninstall:
	rm -f $(DESTDIR)$(XTLIBDIR)/libxt_PREFRAG.so $(DESTDIR)$(XTLIBDIR)/libxt_CLEARDF.so \
		$(DESTDIR)$(SBINDIR)/nft-prefrag \
		$(DESTDIR)/etc/modprobe.d/nf-prefrag.conf $(DESTDIR)$(MANDIR)/nf-prefrag.8 \
		$(DESTDIR)$(MANDIR)/nft-prefrag.8
	@set -e; for f in libipt_REJECT.so libip6t_REJECT.so; do \
		rm -f $(DESTDIR)$(XTLIBDIR)/$$f; \
		if [ -z "$(DESTDIR)" ] && command -v dpkg-divert >/dev/null; then \
			dpkg-divert --local --rename --divert $(XTLIBDIR)/$$f.iptables \
				--remove $(XTLIBDIR)/$$f; \
		fi; \
	done

# Built from a copy of the tree, so that the packages land in build/deb.
deb:
	rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/src
	tar -C $(TOP) --exclude=./build --exclude=./.git -cf - . | tar -C $(BUILD)/deb/src -xf -
	cd $(BUILD)/deb/src && dpkg-buildpackage -b -us -uc >../build.log 2>&1 || \
		{ tail -40 ../build.log; exit 1; }
	@ls $(BUILD)/deb/*.deb

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

.PHONY: all setup modules plugins nft man install uninstall deb demo check bench checkpatch clean
