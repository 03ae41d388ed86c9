# peerpres build. `make` builds ./peerpres; `make check` runs every test,
# also under AddressSanitizer and UndefinedBehaviorSanitizer, and what
# runs on several threads under ThreadSanitizer; `make demo`
# runs the whole grid on the reference agents. V=1 shows full commands.

CC      ?= cc
PKGS    := jansson sqlite3 yaml-0.1 libcurl
VERSION := $(shell git describe --always --dirty --abbrev=12 2>/dev/null || echo unknown)

WARN    := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
           -Wshadow -Wvla -Wwrite-strings -Wformat=2
BASE    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Iinclude -Isrc \
           -Ibuild/gen $(WARN) -MMD -MP
OPT     := -O2 -g
SAN     := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined
# ThreadSanitizer: the program built once more for the tests of what runs
# on several threads (the import's workers, the run's writer).
TSAN    := -O1 -g -fsanitize=thread -fno-omit-frame-pointer

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC  := $(sort $(wildcard src/core/*.c src/world/*.c src/scenario/*.c \
             src/agent/*.c src/provider/*.c src/store/*.c src/stats/*.c \
             src/report/*.c src/engine/*.c src/compat/*.c src/net/*.c src/mock/*.c \
             src/judge/*.c))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
# The HTML report's style sheet and script, made into C by tools/embed.c.
HTML_ASSETS := src/report/html/report.css src/report/html/report.js
GEN_SRC  := build/gen/html_assets.c
TEST_SRC := $(sort $(wildcard tests/harness/*.c tests/unit/*.c))

# Two flavours of every object: build/rel (optimised) and build/san
# (sanitizers); the dependency files keep headers tracked in both.
rel_obj = $(patsubst %.c,build/rel/%.o,$(1))
san_obj = $(patsubst %.c,build/san/%.o,$(1))
tsan_obj = $(patsubst %.c,build/tsan/%.o,$(1))

.PHONY: all deps check demo bench clean install uninstall unit-test cli-test FORCE
all: deps peerpres

deps:
	$(Q)scripts/deps.sh

# pkg-config runs after deps.sh has installed the packages it asks about.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
# The optimised build links mimalloc ahead of libc, so that every malloc in
# the process, curl's and SQLite's too, goes to it: about a quarter less CPU
# per model call at 1,000 rollouts in flight (docs/internals.md). Forced in
# even where the linker drops unneeded libraries, since only its
# interposition of malloc is used. The sanitizer build keeps libc's malloc,
# which AddressSanitizer replaces.
REL_LIBS   = -Wl,--push-state,--no-as-needed -lmimalloc -Wl,--pop-state $(PKG_LIBS)

# The code's version (git describe) as a header, rewritten only when it
# changes: the files that record it in provenance include it, so the
# dependency files rebuild them then. (A -D flag was not tracked: after
# an edit or a pull, an incremental build kept recording the old commit
# as clean.)
VERSION_H := build/gen/version.h
$(VERSION_H): FORCE
	@mkdir -p $(dir $@)
	@v='#define PP_VERSION "$(VERSION)"'; \
	[ "$$(cat $@ 2>/dev/null)" = "$$v" ] || echo "$$v" >$@
FORCE:

build/rel/%.o: %.c | deps $(VERSION_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASE) $(OPT) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

build/san/%.o: %.c | deps $(VERSION_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-SAN  $<")
	$(Q)$(CC) $(BASE) $(SAN) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

build/tsan/%.o: %.c | deps $(VERSION_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC-TSAN $<")
	$(Q)$(CC) $(BASE) $(TSAN) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

build/tools/embed: tools/embed.c | deps
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 -O1 $(WARN) -o $@ $<

build/gen/html_assets.c: build/tools/embed $(HTML_ASSETS)
	@mkdir -p $(dir $@)
	$(Q)build/tools/embed $@ pp_html_css=src/report/html/report.css \
		pp_html_js=src/report/html/report.js

build/rel/libpeerpres.a: $(call rel_obj,$(LIB_SRC) $(GEN_SRC))
	$(Q)rm -f $@ && ar rcs $@ $^

build/san/libpeerpres.a: $(call san_obj,$(LIB_SRC) $(GEN_SRC))
	$(Q)rm -f $@ && ar rcs $@ $^

peerpres: $(call rel_obj,$(CLI_SRC)) build/rel/libpeerpres.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(OPT) -o $@ $^ $(REL_LIBS) $(LDFLAGS)

build/san/peerpres: $(call san_obj,$(CLI_SRC)) build/san/libpeerpres.a
	@$(if $(Q),echo "  LD-SAN  $@")
	$(Q)$(CC) $(SAN) -o $@ $^ $(PKG_LIBS) $(LDFLAGS)

build/tsan/libpeerpres.a: $(call tsan_obj,$(LIB_SRC) $(GEN_SRC))
	$(Q)rm -f $@ && ar rcs $@ $^

build/tsan/peerpres: $(call tsan_obj,$(CLI_SRC)) build/tsan/libpeerpres.a
	@$(if $(Q),echo "  LD-TSAN $@")
	$(Q)$(CC) $(TSAN) -o $@ $^ $(PKG_LIBS) $(LDFLAGS)

build/rel/test-unit: $(call rel_obj,$(TEST_SRC)) build/rel/libpeerpres.a
	$(Q)$(CC) $(OPT) -o $@ $^ $(REL_LIBS)

build/san/test-unit: $(call san_obj,$(TEST_SRC)) build/san/libpeerpres.a
	$(Q)$(CC) $(SAN) -o $@ $^ $(PKG_LIBS)

# The whole suite: unit tests in both flavours, then the CLI scripts
# against the sanitizer build of the program. tests/run.sh prints the
# final "N passed, N failed" line.
check: deps peerpres build/rel/test-unit build/san/test-unit build/san/peerpres build/tsan/peerpres
	$(Q)tests/run.sh

demo: deps peerpres
	@rm -f demo.db demo.db-wal demo.db-shm
	./peerpres run --db demo.db -n 3
	./peerpres report --db demo.db --format md

bench: deps peerpres
	$(Q)bench/run.sh

clean:
	rm -rf build peerpres

# `make install` (PREFIX=/usr/local, DESTDIR for a staging root): the
# program, the scenario files it finds from PREFIX/bin, and the library
# with its headers. Hand-edited scenario files already installed are
# replaced: keep changes in an overlay (docs/scenario-format.md).
PREFIX ?= /usr/local
SHARE  := $(DESTDIR)$(PREFIX)/share/peerpres
install: peerpres build/rel/libpeerpres.a
	install -d $(DESTDIR)$(PREFIX)/bin $(SHARE)/scenarios \
		$(DESTDIR)$(PREFIX)/include/peerpres $(DESTDIR)$(PREFIX)/lib
	install -m 755 peerpres $(DESTDIR)$(PREFIX)/bin/peerpres
	install -m 644 scenarios/*.yaml $(SHARE)/scenarios/
	install -m 644 include/peerpres/*.h $(DESTDIR)$(PREFIX)/include/peerpres/
	install -m 644 build/rel/libpeerpres.a $(DESTDIR)$(PREFIX)/lib/libpeerpres.a

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/peerpres $(DESTDIR)$(PREFIX)/lib/libpeerpres.a
	rm -rf $(SHARE) $(DESTDIR)$(PREFIX)/include/peerpres

-include $(shell find build -name '*.d' 2>/dev/null)
