# nf-prefrag: kernel modules, iptables plugins, tests.
#
#   make              build the modules for every installed kernel, and the plugins
#   make setup        install what building and testing need (Debian packages)
#   make demo         boot a guest kernel and show PREFRAG on real packets
#   make check        the test suite (userspace checks, then the guest suites)
#   make check-matrix the suite on Debian 12 and 13, each kernel of the matrix
#   make check-debug  the guest suites on a debug kernel (KASAN, kmemleak, lockdep)
#   make fuzz         100 000 fuzz packets through every action, in the guest
#   make bench        benchmarks (not part of the tests)
#   make profile      where fragmenting's instructions go (perf, in the guest)
#   make install      plugins, nft-prefrag, man pages, modprobe.d file
#   make dkms-install the kernel modules, with DKMS, for every kernel with headers
#   make deb          Debian packages (nf-prefrag-dkms, xtables-nf-prefrag) in build/deb
#   make lint         lintian on them (pedantic)
#
# Variables that call pkg-config are expanded when a recipe runs, not when
# this file is read, so that "make setup demo" works on a machine that had
# none of the -dev packages before "setup" installed them.

TOP       := $(abspath .)
BUILD     := $(TOP)/build
# The one place the version lives is debian/changelog (upstream part).
VERSION   := $(shell sh $(TOP)/scripts/version.sh)
# Every kernel with headers installed; the guest tests use the 6.1 one.
# Kernels with headers: installed, or unpacked by set-up into the kernel
# cache (newer kernels, whose headers depend on their image).
KERNELS   := /var/tmp/nf-prefrag/kernels
KVERS     ?= $(sort $(notdir $(patsubst %/build,%,$(wildcard /lib/modules/*/build \
		$(KERNELS)/lib/modules/*/build))))
# A kernel's build directory, for a shell variable's release.
KBUILD_OF = $$(k=/lib/modules/$(1)/build; [ -e $$k ] || k=$(KERNELS)/lib/modules/$(1)/build; echo $$k)
W         ?= 1

# dpkg-buildflags (hardening) arrive in these; -Werror is for our own builds.
CFLAGS    ?= -O2 -g
WERROR    ?= -Werror
WARN      := -Wall -Wextra $(WERROR)
XT_CFLAGS  = $(CPPFLAGS) $(CFLAGS) $(WARN) -Wno-unused-parameter -fPIC \
	     -I$(TOP)/kernel/include/uapi $(shell pkg-config --cflags xtables) \
	     -DXT_OPTION_ENTRY_HAS_BASE=$(XT_OPTION_ENTRY_HAS_BASE)
# The layout of struct xt_option_entry in the xtables.h at hand (iptables
# 1.8.11 added "base"): libxt/option_layout.c compares it with the library's.
XT_OPTION_ENTRY_HAS_BASE = $(shell sh $(TOP)/scripts/xt-option-layout.sh "$(CC)")
XT_LIBS    = $(shell pkg-config --libs xtables)
XTLIBDIR   = $(shell pkg-config --variable=xtlibdir xtables)
NFT_CFLAGS = $(CPPFLAGS) $(CFLAGS) $(WARN) -I$(TOP)/kernel/include/uapi -I$(TOP)/libxt \
	     -DNF_PREFRAG_VERSION='"$(VERSION)"' \
	     $(shell pkg-config --cflags libnftables libnftnl libmnl jansson)
NFT_LIBS   = $(shell pkg-config --libs libnftables libnftnl libmnl jansson)
XT_PLUGINS := $(patsubst libxt/%.c,$(BUILD)/libxt/%.so,$(wildcard libxt/libxt_*.c))
MODULE_HINT := libxt/module_hint.c libxt/module_hint.h
OPTION_LAYOUT := libxt/option_layout.c libxt/option_layout.h
NFT_SYNTAX := libxt/nft_syntax.h
SBINDIR   := /usr/sbin
MANDIR    := /usr/share/man/man8

all: modules plugins nft doctor updown

setup:
	sh scripts/install-deps.sh

# nft-prefrag: nft syntax with our statements (nft/)
nft: $(BUILD)/nft/nft-prefrag

$(BUILD)/nft/nft-prefrag: $(wildcard nft/*.c nft/*.h) $(MODULE_HINT) $(NFT_SYNTAX) \
		kernel/include/uapi/linux/netfilter/*.h debian/changelog
	@mkdir -p $(dir $@)
	$(CC) $(NFT_CFLAGS) $(LDFLAGS) -o $@ $(filter %.c,$^) $(NFT_LIBS)

# nf-prefrag-updown: PREFRAG for an SA while it is up, from an IKE daemon (updown/)
updown: $(BUILD)/updown/nf-prefrag-updown

$(BUILD)/updown/nf-prefrag-updown: $(wildcard updown/*.c) doctor/capture.c doctor/capture.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -I$(TOP)/doctor $(LDFLAGS) -o $@ $(filter %.c,$^)

# nf-prefrag doctor: the admin's view of modules, counters and rules (doctor/)
doctor: $(BUILD)/doctor/nf-prefrag

$(BUILD)/doctor/nf-prefrag: $(wildcard doctor/*.c doctor/*.h) $(MODULE_HINT) debian/changelog
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -I$(TOP)/libxt -DNF_PREFRAG_VERSION='"$(VERSION)"' \
		$(LDFLAGS) -o $@ $(filter %.c,$^)

modules:
	@set -e; for v in $(KVERS); do \
		d=$(BUILD)/kernel/$$v; mkdir -p $$d; \
		cp -rsf $(TOP)/kernel/. $$d/; \
		echo "== modules for $$v"; \
		$(MAKE) -s -C $(call KBUILD_OF,$$v) M=$$d W=$(W) NF_PREFRAG_WERROR=y \
			NF_PREFRAG_VERSION=$(VERSION) modules; \
	done

# REJECT replaces iptables' own plugins, which are found by these names.
plugins: $(XT_PLUGINS)
	@ln -sf libxt_REJECT.so $(BUILD)/libxt/libipt_REJECT.so
	@ln -sf libxt_REJECT.so $(BUILD)/libxt/libip6t_REJECT.so

$(BUILD)/libxt/%.so: libxt/%.c $(MODULE_HINT) $(OPTION_LAYOUT) $(NFT_SYNTAX) \
		libxt/xt_module_check.h libxt/xt_translate.h kernel/include/uapi/linux/netfilter/*.h
	@mkdir -p $(dir $@)
	$(CC) $(XT_CFLAGS) $(LDFLAGS) -shared -o $@ $< libxt/module_hint.c \
		libxt/option_layout.c $(XT_LIBS)

# One man page for all our targets, as xtables-addons does.
man: $(BUILD)/nf-prefrag.8

$(BUILD)/nf-prefrag.8: $(wildcard libxt/*.man) doctor/nf-prefrag.man
	@mkdir -p $(dir $@)
	@{ printf '.TH NF-PREFRAG 8 "" "nf-prefrag %s" "nf-prefrag"\n.SH NAME\n' "$(VERSION)"; \
	   printf 'nf-prefrag \\- iptables targets PREFRAG, CLEARDF and REJECT with the MTU, and the nf-prefrag command\n'; \
	   cat doctor/nf-prefrag.man; \
	   printf '.SH TARGETS\n'; \
	   for f in $(wildcard libxt/*.man); do n=$${f##*/libxt_}; printf '.SS %s\n' "$${n%.man}"; cat $$f; done; \
	   printf '.SH SEE ALSO\n.BR iptables (8),\n.BR ip6tables (8),\n.BR iptables-extensions (8),\n.BR nft-prefrag (8),\n.BR dkms (8)\n'; \
	 } >$@

# Plugins, nft-prefrag, man pages and the modprobe.d file.  Without DESTDIR
# the files and REJECT diversions are recorded, so that uninstall removes
# exactly those; both refuse to touch a system where our packages are.
install uninstall: INSTALL_ENV = DESTDIR="$(DESTDIR)" BUILD="$(BUILD)" \
	XTLIBDIR="$(XTLIBDIR)" SBINDIR="$(SBINDIR)" MANDIR="$(MANDIR)"
install: plugins man nft doctor updown
	@$(INSTALL_ENV) sh scripts/install.sh install
uninstall:
	@$(INSTALL_ENV) sh scripts/install.sh uninstall

# What DKMS needs and nothing else: dkms.conf with our version, kernel/.
dkms-src:
	sh scripts/dkms-src.sh $(BUILD)/dkms/nf-prefrag-$(VERSION) $(VERSION)

dkms-install: dkms-src
	sh scripts/dkms-install.sh install $(BUILD)/dkms/nf-prefrag-$(VERSION) $(VERSION)
dkms-uninstall:
	sh scripts/dkms-install.sh uninstall - $(VERSION)

# Built from the files git tracks (or, outside git, from the tree less
# every build product), so that nothing built here is shipped.
# copy_sources DIR: the project's source files (scripts/source-files.sh) into DIR.
copy_sources = rm -rf $(1) && mkdir -p $(1) && sh scripts/source-files.sh | \
	tar -C $(TOP) --null -T - -cf - | tar -C $(1) -xf -

deb:
	rm -rf $(BUILD)/deb
	$(call copy_sources,$(BUILD)/deb/src)
	# (MAKEFLAGS: the package builds with its own BUILD, not the caller's.)
	cd $(BUILD)/deb/src && MAKEFLAGS= dpkg-buildpackage -b -us -uc >../build.log 2>&1 || \
		{ tail -40 ../build.log; exit 1; }
	@ls $(BUILD)/deb/*.deb

# Prebuilt modules for gateways without a compiler: one binary package per
# kernel in KVERS (default: every kernel with headers here).
deb-modules: modules
	@for v in $(KVERS); do sh scripts/deb-modules.sh $$v $(BUILD)/deb-modules; done

# lintian (pedantic, nothing may be reported) on the binary packages and on
# a source package made from the same files.  (A Debian revision in the
# version is for binary builds: the source format is native.)
# One source serves Debian 12 and 13: its Standards-Version is that of
# Debian 12 (4.6.2, the oldest release it is built for), which Debian 13's
# lintian reports as out of date.
lint: deb
	rm -rf $(BUILD)/lint
	$(call copy_sources,$(BUILD)/lint/src)
	cd $(BUILD)/lint && dpkg-source -b src >/dev/null
	lintian --pedantic -E -I --fail-on error,warning,info,pedantic \
		$(if $(filter bookworm,$(shell . /etc/os-release && echo $$VERSION_CODENAME)),,\
			--suppress-tags out-of-date-standards-version) \
		$(BUILD)/deb/*.changes $(BUILD)/lint/*.dsc

demo: all
	/usr/bin/python3 tests/guest/vm.py --timeout 600 -- /usr/bin/python3 tests/demo/demo.py

# run-tests.sh builds what it tests: here, or in the Debian root it hands
# over to (NF_PREFRAG_ROOT), leaving this tree alone while another run uses it.
check:
	sh tests/run-tests.sh

# Gateways booting Debian 12 with systemd: rules across reboots and reloads.
check-boot:
	sh tests/check-boot.sh

# Every Debian release and kernel of the README's table (long).
check-matrix:
	sh tests/check-matrix.sh

# The same on a debug kernel (KASAN, kmemleak, lockdep), built once and cached.
check-debug: all test-tools
	sh tests/check-debug.sh

# Test tools (not shipped): a blob writer that bypasses the plugins' checks.
test-tools: $(BUILD)/tests/xt-bad-blob

$(BUILD)/tests/xt-bad-blob: tests/tools/xt-bad-blob.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(LDFLAGS) -o $@ $< \
		$(shell pkg-config --cflags --libs libip4tc libip6tc)

# The harness canary (tests/canary/): a module that commits one kernel fault
# on request, for every kernel with headers (or KVERS=<release> KDIR=<its
# build tree>); not shipped.
canary:
	@set -e; for v in $(KVERS); do \
		d=$(BUILD)/canary/$$v; mkdir -p $$d; \
		cp -sf $(TOP)/tests/canary/Kbuild $(TOP)/tests/canary/*.c $$d/; \
		$(MAKE) -s -C $(or $(KDIR),$(call KBUILD_OF,$$v)) M=$$d W=$(W) modules; \
	done

# The benchmark's NFQUEUE peer (userspace pre-fragmenter); not shipped.
$(BUILD)/bench/nfq-prefrag: tests/bench/nfq-prefrag.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(LDFLAGS) -o $@ $< \
		$(shell pkg-config --cflags --libs libnetfilter_queue)

# 100 000 fuzz packets (NF_PREFRAG_FUZZ_SEED=<seed> replays a run).
fuzz: all
	sh tests/fuzz/make-packets.sh fuzz 100000
	NF_PREFRAG_FUZZ_FILE=$(BUILD)/fuzz/fuzz.bin /usr/bin/python3 tests/guest/vm.py \
		$(if $(NF_PREFRAG_KERNEL),--kernel $(NF_PREFRAG_KERNEL)) --timeout 3600 -- \
		/usr/bin/python3 -m pytest -v --color=no -rA -p no:cacheprovider tests/kernel/test_fuzz.py

# Benchmarks on the default guest kernel (NF_PREFRAG_KERNEL picks another).
# Instructions counted (vm.py --icount, one vCPU: the same whatever else the
# host does); BENCH_CLOCK=wall for the host's clock, with one vCPU and with
# two.  BEFORE=rev adds peers that run commit rev's modules.
BENCH_CLOCK ?= instructions
BENCH_KVER = $(or $(NF_PREFRAG_KERNEL),$(shell /usr/bin/python3 tests/guest/vm.py --print-kernel))
bench: all $(BUILD)/bench/nfq-prefrag
	@set -e; \
	before=$(if $(BEFORE),$$(sh scripts/bench-before.sh $(BEFORE) $(BENCH_KVER))); \
	for run in $(if $(filter wall,$(BENCH_CLOCK)),"--cpus 1" "--cpus 2",--icount); do \
		NF_PREFRAG_BENCH_CLOCK=$(BENCH_CLOCK) NF_PREFRAG_BENCH_BEFORE=$$before \
		/usr/bin/python3 tests/guest/vm.py --kernel $(BENCH_KVER) $$run --timeout 7200 -- \
			/usr/bin/python3 tests/bench/bench_prefrag.py; \
	done

# Where the instructions go when PREFRAG fragments, against no rule.
profile: all
	/usr/bin/python3 tests/guest/vm.py --kernel $(BENCH_KVER) --icount --timeout 3600 -- \
		/usr/bin/python3 tests/bench/profile_prefrag.py

checkpatch:
	sh scripts/checkpatch.sh

# build/, and whatever an in-place "make -C kernel" (as DKMS runs it) left.
clean:
	rm -rf $(BUILD)
	find kernel \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name '*.o.d' -o -name Module.symvers \
		-o -name modules.order -o -name compat-probed.h -o -name '.*.d' \) -delete
	rm -rf kernel/.tmp_versions

.PHONY: all setup modules plugins nft doctor updown man install uninstall dkms-src dkms-install \
	dkms-uninstall deb deb-modules lint demo check check-boot check-matrix check-debug test-tools canary fuzz bench profile checkpatch clean
