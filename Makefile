# SPDX-License-Identifier: GPL-2.0
# tcpclose: module, reader, selftests and the VM lab.
#
#   make                  module for KDIR and the reader
#   make check            everything, on every supported kernel, in qemu
#   make check KERNELS=6.1
#   make check KERNELS="6.1-rt 6.12-rt 6.1-cloud 6.12-cloud"   Debian flavours
#   make check-debug      the VM selftests on a KASAN/lockdep/kmemleak/UBSAN
#                         kernel built once from linux-source-6.12
#   make demo             boot a VM and watch tcpclose at work
#   make bench            overhead on connection close rate, as ratios,
#                         beside ftrace, tcpstates and bpftrace (VM, TCG)
#   make bench KERNELS=6.1 ROUNDS=3 SECS=2
#   make bench BASE=HEAD~3 CONFIGS="none tc-noreader tc-base-noreader"
#   make bench-path       each step of the record path timed, in the VM
#   make bench-ring       the ring core's records/s on this host
#   make install          module, reader, man page and systemd units onto this host
#   make deb              Debian packages tcpclose-dkms and tcpclose in build/deb/

KDIR     ?= /lib/modules/$(shell uname -r)/build
KERNELS  ?= 6.1 6.12
DESTDIR  ?=
PREFIX   ?= /usr/local
SBINDIR  ?= $(PREFIX)/sbin
# systemd looks in /usr/local/lib too; the Debian package says /lib.
UNITDIR  ?= $(PREFIX)/lib/systemd/system
MODLOADDIR ?= $(PREFIX)/lib/modules-load.d
VERSION  := $(shell cat VERSION)
B        := build

CFLAGS   ?= -O2 -g
UCFLAGS  := $(CFLAGS) -Wall -Wextra -Wno-unused-parameter -std=gnu11 \
	    -Iinclude/uapi -D_GNU_SOURCE -DTCPCLOSE_VERSION='"$(VERSION)"'

READER_LIB := userspace/decode.c userspace/text.c userspace/owner.c \
	      userspace/diag.c userspace/device.c userspace/stuck.c \
	      userspace/watch.c userspace/stats.c userspace/service.c \
	      userspace/sockets.c userspace/prom.c userspace/metrics.c \
	      userspace/hist.c
READER_SRC := userspace/main.c $(READER_LIB)
SELFTESTS  := $(shell grep -v '^[[:space:]]*\(\#\|$$\)' selftests/tests.list | cut -f1 | cut -d' ' -f1)
TESTLIB    := selftests/lib.c selftests/tap.c userspace/decode.c \
	      userspace/text.c
HDRS       := include/uapi/linux/tcpclose.h $(wildcard userspace/*.h selftests/*.h)

.PHONY: all module reader clean check check-debug demo bench bench-path bench-ring install uninstall \
	style sparse selftests-static host-tests install-module install-reader \
	install-dkms uninstall-module uninstall-reader deb

all: module reader

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

reader: $(B)/tcpclose

$(B)/tcpclose: $(READER_SRC) $(HDRS)
	@mkdir -p $(B)
	$(CC) $(UCFLAGS) $(CPPFLAGS) -pthread -o $@ $(READER_SRC) $(LDFLAGS)

# Static programs for the VM's initramfs.
$(B)/static/%: selftests/%.c $(TESTLIB) $(HDRS)
	@mkdir -p $(B)/static
	$(CC) $(UCFLAGS) -static -o $@ $< $(TESTLIB)

$(B)/static/tcpclose: $(READER_SRC) $(HDRS)
	@mkdir -p $(B)/static
	$(CC) $(UCFLAGS) -static -pthread -o $@ $(READER_SRC)

$(B)/static/%: lab/%.c
	@mkdir -p $(B)/static
	$(CC) $(UCFLAGS) -static -o $@ $<

selftests-static: $(addprefix $(B)/static/,$(SELFTESTS) tcpclose)

# Host-side tests: ring stress under ThreadSanitizer, decoding, reader.
$(B)/host/ring_%: selftests/host/ring_%.c module/ring.c module/ring.h \
		  selftests/host/ring_user.h selftests/tap.c
	@mkdir -p $(B)/host
	$(CC) $(UCFLAGS) -fsanitize=thread -pthread -Imodule -o $@ \
		$< module/ring.c selftests/tap.c

$(B)/host/%: selftests/host/%.c $(READER_LIB) selftests/tap.c $(HDRS)
	@mkdir -p $(B)/host
	$(CC) $(UCFLAGS) -pthread -Iuserspace -o $@ $< $(READER_LIB) \
		selftests/tap.c $(HOST_LDFLAGS)

# It stands in for the device's open() and ioctl().
$(B)/host/device_test: HOST_LDFLAGS := -Wl,--wrap=open,--wrap=ioctl
# sock_diag's netlink socket, made to misbehave.
$(B)/host/diag_test: HOST_LDFLAGS := -Wl,--wrap=send,--wrap=recvmsg
# And read() and poll(), which play a script.
$(B)/host/watch_test: HOST_LDFLAGS := \
	-Wl,--wrap=open,--wrap=ioctl,--wrap=read,--wrap=poll
# The histogram ioctl, made up.
$(B)/host/hist_test: HOST_LDFLAGS := -Wl,--wrap=ioctl

HOST_TESTS := $(basename $(notdir $(wildcard selftests/host/*.c)))
host-tests: $(addprefix $(B)/host/,$(HOST_TESTS)) $(B)/tcpclose

check:
	lab/check.sh $(KERNELS)

# The debug lane (Documentation/selftests.rst): lab/debug-kernel.sh builds
# the kernel on the first run (cached after), then the usual run on it, then
# the injected bugs it must catch (lab/inject-check.sh).
# KASAN and lockdep under TCG are slow, and KASAN's shadow wants memory.
DEBUG_VM_TIMEOUT ?= 5400
DEBUG_VM_MEM     ?= 2048
check-debug:
	TCPCLOSE_VM_TIMEOUT=$(DEBUG_VM_TIMEOUT) VM_MEM=$(DEBUG_VM_MEM) \
		lab/check-debug.sh

demo:
	lab/demo-vm.sh $(firstword $(KERNELS)) demo

# Overhead, as ratios measured side by side in one VM run per kernel, each
# kernel in turn.  ROUNDS, SECS, WORKLOADS and CONFIGS (see lab/bench.sh)
# go on to the VM when set; BASE=REV adds the module built at git revision
# REV, for a before/after in one run (configurations tc-base-*).
BENCH_VARS := ROUNDS SECS WORKLOADS CONFIGS BASE
bench:
	@rc=0; for k in $(KERNELS); do \
		$(foreach v,$(BENCH_VARS),$(if $($(v)),$(v)='$($(v))')) \
			lab/demo-vm.sh $$k bench || rc=1; \
	done; exit $$rc

# Each step of the record path timed in a tight loop in the VM (a
# bench-only build, module/pathbench.c): where the time goes.  ROUNDS;
# then each hook timed under the bench's churn: CHURN_ROUNDS, CHURN_SECS,
# CHURN_CONFIGS (none tc watch watch-noowner base); BASE=REV times REV's
# build beside today's.
bench-path:
	@rc=0; for k in $(KERNELS); do \
		$(if $(ROUNDS),ROUNDS='$(ROUNDS)') \
		$(if $(CHURN_ROUNDS),CHURN_ROUNDS='$(CHURN_ROUNDS)') \
		$(if $(CHURN_SECS),CHURN_SECS='$(CHURN_SECS)') \
		$(if $(CHURN_CONFIGS),CHURN_CONFIGS='$(CHURN_CONFIGS)') \
		$(if $(BASE),BASE='$(BASE)') \
		lab/demo-vm.sh $$k path || rc=1; \
	done; exit $$rc

# The ring core built for userspace, optimised (no sanitizer): records/s.
$(B)/bench_ring: lab/bench_ring.c module/ring.c module/ring.h $(HDRS)
	@mkdir -p $(B)
	$(CC) $(UCFLAGS) -pthread -Imodule -o $@ lab/bench_ring.c module/ring.c

# RING_ARGS, e.g. "-r 9 -d 0.5": rounds and seconds per variant.
bench-ring: $(B)/bench_ring
	$(B)/bench_ring $(RING_ARGS)

style:
	lab/style.sh

sparse:
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 modules

# The release the module is built for (UTS_RELEASE of KDIR, not uname -r;
# Debian's include/config/kernel.release says "6.1.192", not "6.1.0-56-amd64").
KREL = $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' \
	 $(KDIR)/include/generated/utsrelease.h 2>/dev/null)
MODDIR = $(DESTDIR)/lib/modules/$(KREL)/updates

# Plain copies: modules_install would try to sign with the distribution's
# key, which a headers package does not ship.
install: install-module install-reader

install-module: module
	@test -n "$(KREL)" || { echo "no kernel release in $(KDIR)"; exit 1; }
	install -D -m 0644 tcpclose.ko $(MODDIR)/tcpclose.ko
	depmod $(if $(DESTDIR),-b $(DESTDIR)) -a $(KREL)
	install -D -m 0644 packaging/systemd/tcpclose.conf \
		$(DESTDIR)$(MODLOADDIR)/tcpclose.conf

UNITS := tcpclose-metrics.service tcpclose-metrics.timer

# The reader, its man page and the metrics units (not enabled: see the
# admin guide).
install-reader: reader
	install -D -m 0755 $(B)/tcpclose $(DESTDIR)$(SBINDIR)/tcpclose
	install -D -m 0644 Documentation/tcpclose.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/tcpclose.8
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g' packaging/systemd/tcpclose-metrics.service.in \
		>$(DESTDIR)$(UNITDIR)/tcpclose-metrics.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/tcpclose-metrics.service
	install -m 0644 packaging/systemd/tcpclose-metrics.timer $(DESTDIR)$(UNITDIR)/

# The module's source as DKMS wants it, in /usr/src/tcpclose-VERSION.
DKMS_SRC = $(DESTDIR)/usr/src/tcpclose-$(VERSION)
install-dkms:
	install -d $(DKMS_SRC)/module $(DKMS_SRC)/include/uapi/linux
	install -m 0644 Kbuild VERSION dkms.conf $(DKMS_SRC)/
	install -m 0644 module/*.c module/*.h $(DKMS_SRC)/module/
	install -m 0644 include/uapi/linux/tcpclose.h $(DKMS_SRC)/include/uapi/linux/
	install -D -m 0644 packaging/systemd/tcpclose.conf \
		$(DESTDIR)$(MODLOADDIR)/tcpclose.conf

uninstall: uninstall-module uninstall-reader

uninstall-module:
	@test -n "$(KREL)" || { echo "no kernel release in $(KDIR)"; exit 1; }
	rm -f $(MODDIR)/tcpclose.ko $(DESTDIR)$(MODLOADDIR)/tcpclose.conf
	depmod $(if $(DESTDIR),-b $(DESTDIR)) -a $(KREL)

uninstall-reader:
	rm -f $(DESTDIR)$(SBINDIR)/tcpclose \
		$(DESTDIR)$(PREFIX)/share/man/man8/tcpclose.8 \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(UNITS))

# Both packages, from a copy of the tree, with a changelog entry made from
# VERSION; lab/check-fleet.sh runs lintian on them and installs them.
DEB_TOP := $(B)/deb
deb:
	rm -rf $(DEB_TOP) && mkdir -p $(DEB_TOP)/tcpclose-$(VERSION)
	cp -r Makefile Kbuild VERSION dkms.conf README module include \
		userspace Documentation packaging debian $(DEB_TOP)/tcpclose-$(VERSION)/
	packaging/debian-changelog.sh $(VERSION) \
		>$(DEB_TOP)/tcpclose-$(VERSION)/debian/changelog
	cd $(DEB_TOP)/tcpclose-$(VERSION) && dpkg-buildpackage -b -us -uc
	@ls $(DEB_TOP)/*.deb

clean:
	rm -rf $(B)
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || \
		rm -f *.ko *.o *.mod *.mod.c modules.order Module.symvers \
		module/*.o module/.*.cmd .*.cmd
