# imaptrace - offline IMAP session trace analyzer
#
#   make             build ./imaptrace
#   make demo        install missing dependencies (as root), build, analyze samples/
#   make check       install missing dependencies (as root), build, run every test suite
#   make SANITIZE=1 check   the same under AddressSanitizer and UndefinedBehaviorSanitizer
#   make fuzz FUZZ_SECONDS=N   libFuzzer harnesses (clang)
#   make bench       speed and memory against a bare libpcap loop and tshark
#   make install PREFIX=/usr/local

PREFIX  ?= /usr/local
CC      ?= cc
CFLAGS  ?= -O2 -g
PKGS     = libpcap json-c zlib libzstd liblz4 libcrypto gmime-3.0
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lpcap -ljson-c -lz -lzstd -llz4 -lcrypto) -pthread
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -pthread)

IMT_CFLAGS = -std=c11 -Wall -Wextra -Werror -D_DEFAULT_SOURCE -D_GNU_SOURCE \
	     -Iinclude $(PKG_CFLAGS) -MMD -MP

ifeq ($(SANITIZE),1)
BUILD   = build/san
SAN     = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD   = build/out
SAN     =
endif

LIB_SRC  = $(filter-out analyzer/main.c,$(wildcard analyzer/*.c))
LIB_OBJ  = $(LIB_SRC:analyzer/%.c=$(BUILD)/%.o)
TEST_SRC = $(wildcard tests/test_*.c)
TEST_BIN = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_HELPER_SRC = $(wildcard tests/helpers/*.c)
TEST_HELPER_OBJ = $(TEST_HELPER_SRC:tests/helpers/%.c=$(BUILD)/tests/helpers/%.o)

ifeq ($(SANITIZE),1)
PROG = $(BUILD)/imaptrace
else
PROG = imaptrace
endif

.PHONY: all deps demo check unit e2e tests install clean fuzz bench
all: $(PROG)

$(BUILD)/%.o: analyzer/%.c
	@mkdir -p $(dir $@)
	$(CC) $(IMT_CFLAGS) $(SAN) $(CFLAGS) -c -o $@ $<

# The html report's script and style, compiled in as C strings ("?"
# escaped so that no trigraph can form).
$(BUILD)/gen/out_html_assets.h: analyzer/out_html.js analyzer/out_html.css
	@mkdir -p $(dir $@)
	{ for f in js css; do echo "static const char out_html_$$f[] ="; \
	  sed 's/\\/\\\\/g; s/"/\\"/g; s/?/\\?/g; s/^/"/; s/$$/\\n"/' analyzer/out_html.$$f; \
	  echo ";"; done; } >$@.tmp && mv $@.tmp $@

$(BUILD)/out_html.o: $(BUILD)/gen/out_html_assets.h
$(BUILD)/out_html.o: IMT_CFLAGS += -I$(BUILD)/gen

$(BUILD)/libimt.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(PROG): $(BUILD)/main.o $(BUILD)/libimt.a
	$(CC) $(SAN) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/helpers/%.o: tests/helpers/%.c
	@mkdir -p $(dir $@)
	$(CC) $(IMT_CFLAGS) -Itests/helpers -Ianalyzer $(SAN) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(BUILD)/libimt.a $(TEST_HELPER_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(IMT_CFLAGS) -Itests/helpers -Ianalyzer $(SAN) $(CFLAGS) $(LDFLAGS) -o $@ $< \
		$(TEST_HELPER_OBJ) $(BUILD)/libimt.a $(CHECK_LIBS) $(PKG_LIBS)

deps:
	@sh scripts/install-deps.sh

tests: $(PROG) $(TEST_BIN)

demo: deps
	@$(MAKE) --no-print-directory all
	./imaptrace -F text samples/dovecot-curl-login.pcap

# Every suite: unit tests (Check), then end-to-end tests on real and crafted captures.
check: deps
	@$(MAKE) --no-print-directory tests
	@IMAPTRACE=$(abspath $(PROG)) BUILD=$(BUILD) SANITIZE=$(SANITIZE) sh tests/run.sh $(TEST_BIN)

fuzz:
	@sh tests/fuzz/run.sh $(or $(FUZZ_SECONDS),60)

# Each script prints its own table and targets; bench/lib.sh is what they share.
BENCH_SCRIPTS = bench/run.sh bench/capture.sh bench/tls.sh bench/extract.sh bench/dashboards.sh bench/sessions.sh bench/engspeed.sh
bench: all
	@for s in $(BENCH_SCRIPTS); do echo "== $$s"; sh $$s || exit 1; done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 imaptrace $(DESTDIR)$(PREFIX)/bin/imaptrace
	install -m 644 docs/imaptrace.1 $(DESTDIR)$(PREFIX)/share/man/man1/imaptrace.1

clean:
	rm -rf build imaptrace

-include $(LIB_OBJ:.o=.d) $(BUILD)/main.d $(TEST_HELPER_OBJ:.o=.d)
