# packaging/packaging.mk: make install and uninstall, moss.pc, the man pages,
# the systemd units and the Debian package. Included by the top Makefile,
# whose variables (VERSION, BUILD, MOSS, LIB_A, LIB_SO...) it uses.
#
#   make install          PREFIX=/usr/local DESTDIR=  (and the directories below)
#   make uninstall        the same variables: removes what install wrote
#   make man              the man pages, into $(BUILD)/packaging/
#   make deb              Debian packages (dpkg-buildpackage -b), into $(BUILD)/deb/
#                         (DEB_DIR=...), built with DEB_BUILD_OPTIONS='nocheck parallel=2'
#   make check-packaging  tests/integration/packaging.sh: units, socket activation,
#                         notify, logrotate, man pages, example config, the packages
#
# Installation directories (GNU names, upper case like PREFIX):
BINDIR         ?= $(PREFIX)/bin
LIBDIR         ?= $(PREFIX)/lib
INCLUDEDIR     ?= $(PREFIX)/include
DATADIR        ?= $(PREFIX)/share
MANDIR         ?= $(DATADIR)/man
DOCDIR         ?= $(DATADIR)/doc/moss
PKGCONFIGDIR   ?= $(LIBDIR)/pkgconfig
# /etc for PREFIX=/usr, else PREFIX/etc (/usr/local/etc): the unit's -c FILE
SYSCONFDIR     ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
# systemd reads /usr/lib/systemd/system and /usr/local/lib/systemd/system
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system

# Type=notify-reload needs systemd 253; with an older systemctl on this
# machine, install the Type=notify variant (moss.service explains both).
SYSTEMD_TYPE ?= $(shell v=$$(systemctl --version 2>/dev/null | \
                    sed -n '1s/^systemd \([0-9][0-9]*\).*/\1/p'); \
                  if [ -n "$$v" ] && [ "$$v" -lt 253 ]; then echo notify; else echo notify-reload; fi)

PKG_OUT := $(BUILD)/packaging

# What install writes into the files it copies: the version and the
# directories (the sources name the PREFIX=/usr ones, so that they are real
# units and pages as they stand).
PKG_SED = sed -e 's|@VERSION@|$(VERSION)|g' \
              -e 's|/usr/bin/moss|$(BINDIR)/moss|g' \
              -e 's|/etc/moss/|$(SYSCONFDIR)/moss/|g' \
              -e 's|/usr/share/doc/moss|$(DOCDIR)|g' \
              -e 's|/usr/lib/systemd/system|$(SYSTEMDUNITDIR)|g'
# The Type=notify variant of moss.service.
PKG_SED_NOTIFY = -e 's|^Type=notify-reload$$|Type=notify|' \
                 -e 's|^ReloadSignal=SIGHUP$$|ExecReload=/bin/kill -HUP $$MAINPID|'
# ${prefix}/lib rather than /usr/lib in moss.pc, where it applies.
PKG_PC_DIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

.PHONY: man deb check-packaging

man: $(PKG_OUT)/moss.conf.5

# moss.conf(5) from the one table of settings (config/settings.c), as
# `moss --settings-markdown` prints it for docs/settings.md.
$(PKG_OUT)/moss.conf.5: packaging/man/moss.conf.5.in packaging/man/settings2man.awk $(MOSS)
	@mkdir -p $(@D)
	$(RUNNER) $(MOSS) --settings-markdown >$@.md
	awk -f packaging/man/settings2man.awk $@.md packaging/man/moss.conf.5.in >$@.tmp
	mv $@.tmp $@

# ---- install ------------------------------------------------------------------

install: all $(PKG_OUT)/moss.conf.5
	$(if $(filter-out notify notify-reload,$(SYSTEMD_TYPE)),$(error SYSTEMD_TYPE must be notify or notify-reload, not '$(SYSTEMD_TYPE)'))
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(SYSCONFDIR)/moss $(DESTDIR)$(SYSTEMDUNITDIR)
	install -m 755 $(MOSS) $(DESTDIR)$(BINDIR)/moss
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libmoss.a
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/libmoss.so.$(VERSION)
	ln -sf libmoss.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libmoss.so.$(SOVERSION)
	ln -sf libmoss.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libmoss.so
	install -m 644 include/moss.h $(DESTDIR)$(INCLUDEDIR)/moss.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(call PKG_PC_DIR,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(call PKG_PC_DIR,$(INCLUDEDIR))|' -e 's|@VERSION@|$(VERSION)|' \
	    packaging/moss.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/moss.pc
	$(PKG_SED) packaging/man/moss.1.in >$(DESTDIR)$(MANDIR)/man1/moss.1
	$(PKG_SED) $(PKG_OUT)/moss.conf.5 >$(DESTDIR)$(MANDIR)/man5/moss.conf.5
	$(PKG_SED) packaging/moss.conf.example >$(DESTDIR)$(DOCDIR)/examples/moss.conf
	@# the configuration the unit reads: written once, never over an existing one
	if [ -e $(DESTDIR)$(SYSCONFDIR)/moss/moss.conf ]; then \
	    echo "install: keeping $(DESTDIR)$(SYSCONFDIR)/moss/moss.conf"; \
	else \
	    cp $(DESTDIR)$(DOCDIR)/examples/moss.conf $(DESTDIR)$(SYSCONFDIR)/moss/moss.conf; \
	fi
	$(PKG_SED) $(if $(filter notify,$(SYSTEMD_TYPE)),$(PKG_SED_NOTIFY)) packaging/systemd/moss.service \
	    >$(DESTDIR)$(SYSTEMDUNITDIR)/moss.service
	$(PKG_SED) packaging/systemd/moss.socket >$(DESTDIR)$(SYSTEMDUNITDIR)/moss.socket
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/moss.pc $(DESTDIR)$(MANDIR)/man1/moss.1 \
	    $(DESTDIR)$(MANDIR)/man5/moss.conf.5 $(DESTDIR)$(DOCDIR)/examples/moss.conf \
	    $(DESTDIR)$(SYSTEMDUNITDIR)/moss.service $(DESTDIR)$(SYSTEMDUNITDIR)/moss.socket

# The configuration is removed only as install wrote it; directories only if
# they are moss's own and empty.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/moss $(DESTDIR)$(INCLUDEDIR)/moss.h \
	    $(DESTDIR)$(LIBDIR)/libmoss.a $(DESTDIR)$(LIBDIR)/libmoss.so \
	    $(DESTDIR)$(LIBDIR)/libmoss.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libmoss.so.$(VERSION) \
	    $(DESTDIR)$(PKGCONFIGDIR)/moss.pc \
	    $(DESTDIR)$(MANDIR)/man1/moss.1 $(DESTDIR)$(MANDIR)/man5/moss.conf.5 \
	    $(DESTDIR)$(SYSTEMDUNITDIR)/moss.service $(DESTDIR)$(SYSTEMDUNITDIR)/moss.socket
	if [ -e $(DESTDIR)$(SYSCONFDIR)/moss/moss.conf ]; then \
	    if $(PKG_SED) packaging/moss.conf.example | cmp -s - $(DESTDIR)$(SYSCONFDIR)/moss/moss.conf; then \
	        rm -f $(DESTDIR)$(SYSCONFDIR)/moss/moss.conf; \
	    else \
	        echo "uninstall: keeping $(DESTDIR)$(SYSCONFDIR)/moss/moss.conf: it was changed"; \
	    fi; \
	fi
	rm -f $(DESTDIR)$(DOCDIR)/examples/moss.conf
	rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/moss 2>/dev/null || true

# ---- the Debian package ---------------------------------------------------------

# dpkg-buildpackage wants debian/ at the top of the source: the tree (the
# files git knows, or all but the build outputs outside git) is copied to a
# temporary directory, outside build/ (the top Makefile includes every *.d
# under build/, and a package tree has logrotate.d/), with packaging/debian
# as its debian/. The packages, .changes and .buildinfo are then moved to
# $(DEB_DIR). None of this make's variables or flags reach the package's
# build: it builds the copy with its own settings.
DEB_DIR := $(BUILD)/deb
DEB_BUILD_OPTIONS ?= nocheck parallel=2
DEB_BUILD_PROFILES ?= $(filter nocheck,$(DEB_BUILD_OPTIONS))

deb:
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)
	set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	tree=$$tmp/moss-$(VERSION); mkdir "$$tree"; \
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	    git ls-files -z -c -o --exclude-standard; \
	else \
	    find . \( -path ./build -o -path ./bin -o -path ./lib -o -path ./.git \) -prune \
	        -o -type f -print0; \
	fi | tar --null -T - --ignore-failed-read -cf - | tar -xf - -C "$$tree"; \
	rm -rf "$$tree/debian"; cp -R packaging/debian "$$tree/debian"; \
	(cd "$$tree" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
	    DEB_BUILD_OPTIONS="$(DEB_BUILD_OPTIONS)" DEB_BUILD_PROFILES="$(DEB_BUILD_PROFILES)" \
	    dpkg-buildpackage -b -us -uc); \
	mv "$$tmp"/*.deb "$$tmp"/*.changes "$$tmp"/*.buildinfo $(DEB_DIR)/
	@ls $(DEB_DIR)

# ---- tests ----------------------------------------------------------------------

check-packaging: $(MOSS) $(LIB_A) $(LIB_SO)
	MOSS_BIN=$(MOSS) sh tests/integration/packaging.sh
