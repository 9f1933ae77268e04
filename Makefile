# SPDX-License-Identifier: GPL-2.0
# tcpclose: module, reader, selftests and the VM lab.
#
#   make                  module for KDIR and the reader
#   make check            everything, on every supported kernel, in qemu
#   make check KERNELS=6.1
#   make demo             boot a VM and watch tcpclose at work
#   make bench            overhead on connection close rate, as ratios
#   make install          module, reader and man page onto this host

KDIR     ?= /lib/modules/$(shell uname -r)/build
KERNELS  ?= 6.1 6.12
DESTDIR  ?=
PREFIX   ?= /usr/local
VERSION  := $(shell cat VERSION)
B        := build

CFLAGS   ?= -O2 -g
UCFLAGS  := $(CFLAGS) -Wall -Wextra -Wno-unused-parameter -std=gnu11 \
	    -Iinclude/uapi -D_GNU_SOURCE -DTCPCLOSE_VERSION='"$(VERSION)"'

READER_LIB := userspace/decode.c userspace/text.c userspace/owner.c \
	      userspace/diag.c userspace/device.c userspace/stuck.c \
	      userspace/watch.c userspace/stats.c
READER_SRC := userspace/main.c $(READER_LIB)
SELFTESTS  := $(shell grep -v '^[[:space:]]*\(\#\|$$\)' selftests/tests.list | cut -f1 | cut -d' ' -f1)
TESTLIB    := selftests/lib.c selftests/tap.c userspace/decode.c \
	      userspace/text.c
HDRS       := include/uapi/linux/tcpclose.h $(wildcard userspace/*.h selftests/*.h)

.PHONY: all module reader clean check demo bench install uninstall style sparse \
	selftests-static host-tests

all: module reader

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

reader: $(B)/tcpclose

$(B)/tcpclose: $(READER_SRC) $(HDRS)
	@mkdir -p $(B)
	$(CC) $(UCFLAGS) -pthread -o $@ $(READER_SRC)

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
$(B)/host/ring_stress: selftests/host/ring_stress.c module/ring.c module/ring.h selftests/tap.c
	@mkdir -p $(B)/host
	$(CC) $(UCFLAGS) -fsanitize=thread -pthread -Imodule -o $@ \
		selftests/host/ring_stress.c module/ring.c selftests/tap.c

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

HOST_TESTS := $(basename $(notdir $(wildcard selftests/host/*.c)))
host-tests: $(addprefix $(B)/host/,$(HOST_TESTS)) $(B)/tcpclose

check:
	lab/check.sh $(KERNELS)

demo:
	lab/demo-vm.sh $(firstword $(KERNELS)) demo

# Overhead, as ratios measured side by side in one VM run.
bench:
	lab/demo-vm.sh $(firstword $(KERNELS)) bench

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
install: module reader
	@test -n "$(KREL)" || { echo "no kernel release in $(KDIR)"; exit 1; }
	install -D -m 0644 tcpclose.ko $(MODDIR)/tcpclose.ko
	depmod $(if $(DESTDIR),-b $(DESTDIR)) -a $(KREL)
	install -D -m 0755 $(B)/tcpclose $(DESTDIR)$(PREFIX)/sbin/tcpclose
	install -D -m 0644 Documentation/tcpclose.8 \
		$(DESTDIR)$(PREFIX)/share/man/man8/tcpclose.8

uninstall:
	@test -n "$(KREL)" || { echo "no kernel release in $(KDIR)"; exit 1; }
	rm -f $(MODDIR)/tcpclose.ko
	depmod $(if $(DESTDIR),-b $(DESTDIR)) -a $(KREL)
	rm -f $(DESTDIR)$(PREFIX)/sbin/tcpclose \
		$(DESTDIR)$(PREFIX)/share/man/man8/tcpclose.8

clean:
	rm -rf $(B)
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || \
		rm -f *.ko *.o *.mod *.mod.c modules.order Module.symvers \
		module/*.o module/.*.cmd .*.cmd
