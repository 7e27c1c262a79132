# shikaku - build, run and test.  `make help` lists the targets.
SHELL = /bin/bash

CC ?= cc
PKGS = libmicrohttpd jansson sqlite3 gnutls libpq
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo 0.1.0)

WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASE_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -I. -Ibuild/gen \
	-DSHIKAKU_VERSION='"$(VERSION)"' $(WARN) $(PKG_CFLAGS)
CFLAGS ?= -O2 -g
ALL_CFLAGS = $(BASE_CFLAGS) $(CFLAGS)
# libunistring (NFKC and Unicode categories, api/text.c): Debian ships no
# pkg-config file for it.
LDLIBS = $(PKG_LIBS) -lunistring -lpthread -lm

SAN_CFLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined

LISTEN ?= 127.0.0.1:8080
DB ?= build/demo.db

# Modules; service/main.c is the only file the unit tests leave out.
BASE_SRC = $(wildcard base/*.c)
RULES_SRC = $(wildcard rules/*.c)
API_SRC = $(wildcard api/*.c)
DB_SRC = $(wildcard db/*.c db/sqlite/*.c db/pg/*.c)
SERVICE_SRC = $(filter-out service/main.c,$(wildcard service/*.c))
LIB_SRC = $(BASE_SRC) $(RULES_SRC) $(API_SRC) $(DB_SRC) $(SERVICE_SRC) build/gen/prefectures.c \
	build/gen/migrations.c build/gen/audit_migrations.c build/gen/pg_migrations.c build/gen/ui.c
GEN_ASM = build/gen/embed.S
UNIT_SRC = $(wildcard tests/unit/*.c)

OBJ = $(patsubst %.c,build/obj/%.o,$(LIB_SRC:build/gen/%=gen/%))
SAN_OBJ = $(patsubst %.c,build/san/%.o,$(LIB_SRC:build/gen/%=gen/%))

.PHONY: install uninstall bench
.PHONY: all deps run test test-unit test-e2e test-e2e-pg test-san test-browser check-shared check-deps \
	format format-check clean help lint test-contract tools

all: build/shikakud

help:
	@echo "make            build build/shikakud"
	@echo "make run        install what is missing, build, serve $(LISTEN) on a demo database"
	@echo "make test       install what is missing, then every test (unit, e2e, lint, contract, ASan+UBSan)"
	@echo "make test-e2e   the end-to-end suite under pytest (PYTEST_ARGS='-m \"not slow\"': quick)"
	@echo "make test-e2e-pg  the same suite on a throwaway PostgreSQL"
	@echo "make lint       lint openapi.yaml with Redocly CLI (pinned in tools/package.json)"
	@echo "make test-contract  the e2e suite through Prism's validating proxy (openapi.yaml)"
	@echo "make bench      import 1M persons, wrk against shikakud and nginx (bench/results.json)"
	@echo "make install    install the binary, man page and systemd unit (PREFIX, DESTDIR)"
	@echo "make clean      remove build/"

deps:
	@scripts/deps.sh

# --- generated sources ---------------------------------------------------
build/gen/prefectures.c: data/prefectures.csv scripts/gen-prefectures.sh
	@mkdir -p $(@D)
	scripts/gen-prefectures.sh $< > $@.tmp && mv $@.tmp $@

build/gen/migrations.c: $(wildcard db/migrations/*.sql) data/prefectures.csv \
		data/insurers-kyokai.csv scripts/gen-migrations.sh
	@mkdir -p $(@D)
	scripts/gen-migrations.sh > $@.tmp && mv $@.tmp $@

build/gen/audit_migrations.c: $(wildcard db/audit_migrations/*.sql) scripts/gen-migrations.sh
	@mkdir -p $(@D)
	scripts/gen-migrations.sh audit > $@.tmp && mv $@.tmp $@

build/gen/pg_migrations.c: $(wildcard db/pg_migrations/*.sql) data/prefectures.csv \
		data/insurers-kyokai.csv scripts/gen-migrations.sh
	@mkdir -p $(@D)
	scripts/gen-migrations.sh pg > $@.tmp && mv $@.tmp $@

# The facility page (SPEC §11): every file of ui/ as a C array.
build/gen/ui.c: $(shell find ui -type f ! -name '.*') scripts/gen-ui.sh
	@mkdir -p $(@D)
	scripts/gen-ui.sh > $@.tmp && mv $@.tmp $@

$(GEN_ASM): openapi.yaml
	@mkdir -p $(@D)
	printf '%s\n' '.section .rodata' '.global shikaku_openapi_yaml' \
	  'shikaku_openapi_yaml:' '.incbin "openapi.yaml"' \
	  '.global shikaku_openapi_yaml_end' 'shikaku_openapi_yaml_end:' '.byte 0' \
	  '.section .note.GNU-stack,"",@progbits' > $@

# --- objects -------------------------------------------------------------
# The objects of one build: build/DIR/%.o from the tree and from build/gen,
# and build/DIR/embed.o (openapi.yaml), compiled with COMPILER and FLAGS.
define objects # DIR COMPILER FLAGS
build/$(1)/gen/%.o: build/gen/%.c
	@mkdir -p $$(@D)
	$(2) $(3) -MMD -MP -c $$< -o $$@
build/$(1)/%.o: %.c
	@mkdir -p $$(@D)
	$(2) $(3) -MMD -MP -c $$< -o $$@
build/$(1)/embed.o: $$(GEN_ASM) openapi.yaml
	@mkdir -p $$(@D)
	$(2) -c $$< -o $$@
endef
$(eval $(call objects,obj,$$(CC),$$(ALL_CFLAGS)))
$(eval $(call objects,san,$$(CC),$$(BASE_CFLAGS) $$(SAN_CFLAGS)))

# --- binaries ------------------------------------------------------------
build/shikakud: $(OBJ) build/obj/service/main.o build/obj/embed.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
build/san/shikakud: $(SAN_OBJ) build/san/service/main.o build/san/embed.o
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(LDLIBS)
build/bench_lookup: $(OBJ) build/obj/embed.o build/obj/bench/sqlite_lookup.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
# What next_change costs a decision (a micro-benchmark, not a test):
# build/bench_next_change [SECONDS] prints ns per decision with and without.
build/bench_next_change: $(OBJ) build/obj/embed.o build/obj/bench/next_change.o
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
build/test_unit: $(OBJ) build/obj/embed.o $(patsubst %.c,build/obj/%.o,$(UNIT_SRC))
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) -lcriterion
build/san/test_unit: $(SAN_OBJ) build/san/embed.o $(patsubst %.c,build/san/%.o,$(UNIT_SRC))
	$(CC) $(SAN_CFLAGS) -o $@ $^ $(LDLIBS) -lcriterion

# --- run and test --------------------------------------------------------
run: deps
	@$(MAKE) --no-print-directory build/shikakud
	@scripts/run-demo.sh build/shikakud $(LISTEN) $(DB)

test: deps
	@scripts/check-shared.sh
	@$(MAKE) --no-print-directory check-deps format-check build/shikakud build/test_unit \
	  build/san/shikakud build/san/test_unit
	@$(MAKE) --no-print-directory test-unit test-e2e test-e2e-pg lint test-contract test-san \
	  test-browser
	@$(MAKE) --no-print-directory fuzz FUZZ_TIME=$(TEST_FUZZ_TIME)

# Seconds each fuzz target runs in `make test` (longer: make fuzz FUZZ_TIME=600).
TEST_FUZZ_TIME ?= 15

test-unit: build/test_unit
	build/test_unit --jobs=2

# The end-to-end suite runs under pytest (Debian's python3-pytest, tests/e2e/conftest.py).
# PYTHON: an interpreter that has pytest (Debian's python3 when `python3` is
# another one, e.g. pyenv's).  PYTEST_ARGS: more options, e.g. -m "not slow"
# or -k persons.  No cache or bytecode is written into the source tree, and
# pytest exits non-zero when no test ran.
PYTHON ?= $(shell python3 -c 'import pytest' 2>/dev/null && echo python3 || echo /usr/bin/python3)
PYTEST_ARGS ?=
PYTEST = PYTHONDONTWRITEBYTECODE=1 $(PYTHON) -m pytest
E2E_OPTS = -q -p no:cacheprovider

test-e2e: build/shikakud
	$(PYTEST) tests/e2e $(E2E_OPTS) --binary build/shikakud $(PYTEST_ARGS)

# The same suite on PostgreSQL (SPEC §7): every server on a fresh database of
# one throwaway cluster (tests/e2e/pgcluster.py, Debian's postgresql); tests
# about the SQLite file itself are skipped (marker sqlite_only).
test-e2e-pg: build/shikakud
	$(PYTEST) tests/e2e $(E2E_OPTS) --binary build/shikakud --store pg $(PYTEST_ARGS)

test-san: build/san/shikakud build/san/test_unit
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  build/san/test_unit --jobs=2
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(PYTEST) tests/e2e $(E2E_OPTS) --binary build/san/shikakud --sanitized \
	    $(PYTEST_ARGS)

check-shared:
	@scripts/check-shared.sh

# The facility page in Debian's chromium, driven by Playwright (pinned in
# tools/; its own browser download is not used); screenshots and the
# printed PDF land in build/browser/.
test-browser: tools build/shikakud
	@ln -sfn ../../tools/node_modules tests/browser/node_modules
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 tools/node_modules/.bin/playwright test \
	  -c tests/browser/playwright.config.mjs

# --- the API description: lint and contract ------------------------------
# Node tools pinned in tools/package.json + package-lock.json (npm ci);
# tools/ensure.sh installs nodejs/npm with apt-get when npm is missing.
REDOCLY = tools/node_modules/.bin/redocly
PRISM = tools/node_modules/.bin/prism
# The e2e modules run through `prism proxy --errors`; empty: all of them
# (about 2 minutes on 2 cores), e.g. PRISM_MODULES="test_cases test_api".
PRISM_MODULES ?=
PRISM_PATHS = $(if $(strip $(PRISM_MODULES)),$(patsubst %,tests/e2e/%.py,$(basename $(notdir \
	$(PRISM_MODULES)))),tests/e2e)

tools:
	@tools/ensure.sh

lint: tools
	$(REDOCLY) lint --config tools/redocly.yaml openapi.yaml

# Every response of these e2e modules is validated against openapi.yaml by a
# Prism proxy in front of each server the tests start (tests/e2e/harness.py).
test-contract: tools build/shikakud
	$(PYTEST) $(PRISM_PATHS) $(E2E_OPTS) --binary build/shikakud --via-prism \
	  --prism $(PRISM) --spec openapi.yaml $(PYTEST_ARGS)

# A benchmark, not a test: see scripts/bench.sh; writes bench/results.json.
bench: deps
	@scripts/bench.sh

# service -> api -> {rules, db}; db -> rules; rules -> libc.  Nothing points up.
# base/ (ids, Tokyo times, hashing, JSON string escaping, UTF-8) is below them all:
# libc only, and any layer may include it.
check-deps:
	@! grep -nE '#include "(api|service|db|rules)/' base/*.[ch] || { echo "base/ must include only base/"; exit 1; }
	@! grep -nE '#include <(microhttpd|jansson|sqlite3|gnutls/[a-z]+)\.h>' base/*.[ch] || { echo "base/ is libc only"; exit 1; }
	@! grep -nE '#include "(api|service|db)/' rules/*.[ch] || { echo "rules/ must include only rules/"; exit 1; }
	@! grep -nE '#include "(api|service)/' db/*.[ch] db/sqlite/*.[ch] db/pg/*.[ch] 2>/dev/null || { echo "db/ must not include api/ or service/"; exit 1; }
	@! grep -nE '#include <(sqlite3|libpq-fe)\.h>' base/*.[ch] rules/*.[ch] api/*.[ch] service/*.[ch] || { echo "only db/ talks to a store's library"; exit 1; }
	@! grep -nE '#include "service/' api/*.[ch] || { echo "api/ must not include service/"; exit 1; }
	@! grep -nE '#include <(microhttpd|jansson|sqlite3)\.h>' rules/*.[ch] || { echo "rules/ is libc only"; exit 1; }
	@! grep -nE '#include "db/internal\.h"' base/*.[ch] rules/*.[ch] api/*.[ch] service/*.[ch] bench/*.c || { echo "db/internal.h is db/'s own (the unit tests of db/ aside): use db/db.h"; exit 1; }
	@$(MAKE) --no-print-directory $(patsubst %.c,build/obj/%.o,$(API_SRC)) >/dev/null
	@$(PYTHON) scripts/check-layers.py cycles build/obj/api || { echo "api/ files must call one way (README: the layers of api/)"; exit 1; }
	@$(PYTHON) scripts/check-layers.py length 80 base/*.c rules/*.c api/*.c service/*.c db/*.c db/sqlite/*.c db/pg/*.c || { echo "split functions longer than 80 lines (tests aside)"; exit 1; }

format:
	clang-format -i $(wildcard base/*.[ch] rules/*.[ch] api/*.[ch] service/*.[ch] db/*.[ch] db/sqlite/*.[ch] db/pg/*.[ch] tests/unit/*.c)
format-check:
	clang-format --dry-run -Werror $(wildcard base/*.[ch] rules/*.[ch] api/*.[ch] service/*.[ch] db/*.[ch] db/sqlite/*.[ch] db/pg/*.[ch] tests/unit/*.c)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system

install: build/shikakud
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(SYSTEMDDIR)
	install -m 0755 build/shikakud $(DESTDIR)$(BINDIR)/shikakud
	install -m 0644 packaging/shikakud.1 $(DESTDIR)$(MANDIR)/man1/shikakud.1
	sed 's|/usr/local/bin/shikakud|$(BINDIR)/shikakud|' packaging/shikakud.service \
	  > $(DESTDIR)$(SYSTEMDDIR)/shikakud.service
	chmod 0644 $(DESTDIR)$(SYSTEMDDIR)/shikakud.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/shikakud $(DESTDIR)$(MANDIR)/man1/shikakud.1 \
	  $(DESTDIR)$(SYSTEMDDIR)/shikakud.service

# --- fuzzing: clang + libFuzzer, ASan + UBSan; not part of `make test` ----
# Each target runs FUZZ_TIME seconds from its seed corpus (tests/fuzz/corpus/,
# made from tests/cases and tests/data); a crash, a leak or a sanitizer
# report fails the run and leaves the input in build/fuzz/artifacts/.
.PHONY: fuzz
FUZZ_CC ?= clang-14
FUZZ_TIME ?= 20
FUZZ_TARGETS = fuzz_facts fuzz_numbers fuzz_import fuzz_json fuzz_person_pack
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = $(filter-out -Werror,$(BASE_CFLAGS)) -O1 -g -fno-omit-frame-pointer \
	$(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_OBJ = $(patsubst %.c,build/fuzz/%.o,$(LIB_SRC:build/gen/%=gen/%)) build/fuzz/embed.o

$(eval $(call objects,fuzz,$$(FUZZ_CC),$$(FUZZ_CFLAGS)))
build/fuzz/fuzz_%: build/fuzz/tests/fuzz/fuzz_%.o $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz: deps
	@$(MAKE) --no-print-directory $(addprefix build/fuzz/,$(FUZZ_TARGETS))
	@mkdir -p build/fuzz/artifacts
	@set -e; for t in $(FUZZ_TARGETS); do \
	  rm -rf build/fuzz/corpus/$$t; mkdir -p build/fuzz/corpus/$$t; \
	  dict=; case $$t in fuzz_facts|fuzz_import) dict=-dict=tests/fuzz/facts.dict;; esac; \
	  echo "fuzz: $$t for $(FUZZ_TIME) s"; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  build/fuzz/$$t -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 \
	    -max_len=65536 -print_final_stats=1 $$dict \
	    -artifact_prefix=build/fuzz/artifacts/$$t- \
	    build/fuzz/corpus/$$t tests/fuzz/corpus/$$t 2> build/fuzz/$$t.log \
	  || { tail -n 60 build/fuzz/$$t.log; echo "fuzz: $$t failed (see build/fuzz/$$t.log)"; exit 1; }; \
	  grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^Done ' build/fuzz/$$t.log || true; \
	done

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
