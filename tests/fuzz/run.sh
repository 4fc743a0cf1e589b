#!/bin/sh
# Builds every libFuzzer harness tests/fuzz/fuzz_*.c with clang and runs
# each for $1 seconds (default 60), one after the other.
#   seeds:     tests/fuzz/seeds/<name>/     (committed, read only); the
#              pipeline harness also gets samples/*.pcap and
#              tests/captures/*.pcap* under 64 KiB, copied into
#              build/fuzz/seeds-fuzz_pipeline/ at run time
#   corpus:    tests/fuzz/corpus-<name>/    (grown by the run, git-ignored)
#   crashes:   build/fuzz/<name>-crash-*    (add them to tests/fuzz/regressions/)
# Environment: FUZZ_CC (default clang), FUZZ_ONLY (run only this harness),
# FUZZ_FLAGS (more libFuzzer options), FUZZ_NICE (nice level, default 10).
cd "$(dirname "$0")/../.." || exit 2
secs=${1:-60}
cc=${FUZZ_CC:-clang}
out=build/fuzz
mkdir -p "$out"

# The library sources each harness links besides itself.  A new harness
# adds a case here; one without a case is reported and skipped.
sources() {
	case "$1" in
	fuzz_imap_client|fuzz_imap_server)
		echo analyzer/imap.c analyzer/imap_head.c analyzer/imap_token.c \
		     analyzer/imap_cmd.c analyzer/dec.c analyzer/mem.c analyzer/hash.c \
		     analyzer/findings.c analyzer/imt_limits.c ;;
	fuzz_mime_scan)
		echo analyzer/mime_scan.c analyzer/imt_limits.c ;;
	fuzz_tls)
		echo analyzer/tls.c analyzer/tls_hello.c analyzer/tls_keys.c analyzer/tls_crypto.c analyzer/mem.c \
		     analyzer/hash.c analyzer/findings.c ;;
	fuzz_pipeline)
		# Every analyzer source except main.c.
		ls analyzer/*.c | grep -v '^analyzer/main\.c$' | tr '\n' ' ' ;;
	*)
		return 1 ;;
	esac
}

status=0
for h in tests/fuzz/fuzz_*.c; do
	[ -f "$h" ] || continue
	name=$(basename "$h" .c)
	[ -n "$FUZZ_ONLY" ] && [ "$FUZZ_ONLY" != "$name" ] && continue
	if ! src=$(sources "$name"); then
		echo "fuzz: $name: no source list in tests/fuzz/run.sh, skipped" >&2
		status=1
		continue
	fi
	# shellcheck disable=SC2086
	libs=
	extra=
	[ "$name" = fuzz_pipeline ] &&
		libs="-lpcap -ljson-c -lz -lzstd -llz4 $(pkg-config --libs libcrypto gmime-3.0)" &&
		extra="-max_len=65536"
	[ "$name" = fuzz_mime_scan ] && libs="$(pkg-config --libs gmime-3.0)"
	[ "$name" = fuzz_tls ] && libs="-lcrypto"
	# shellcheck disable=SC2086
	if ! $cc -std=c11 -g -O1 -D_DEFAULT_SOURCE -D_GNU_SOURCE -Iinclude -Ianalyzer \
	    $(pkg-config --cflags libpcap json-c zlib libcrypto gmime-3.0 2>/dev/null) \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -o "$out/$name" "$h" $src $libs; then
		echo "fuzz: $name: build failed" >&2
		status=1
		continue
	fi
	mkdir -p "tests/fuzz/corpus-$name"
	seeds=
	[ -d "tests/fuzz/seeds/$name" ] && seeds="tests/fuzz/seeds/$name"
	if [ "$name" = fuzz_pipeline ]; then
		rm -rf "$out/seeds-$name"
		mkdir -p "$out/seeds-$name"
		for f in samples/*.pcap tests/captures/*.pcap tests/captures/*.pcapng; do
			[ -f "$f" ] && [ "$(wc -c <"$f")" -le 65536 ] &&
				cp "$f" "$out/seeds-$name/"
		done
		seeds="$seeds $out/seeds-$name"
	fi
	echo "fuzz: $name for ${secs}s"
	# shellcheck disable=SC2086
	if ! nice -n "${FUZZ_NICE:-10}" "$out/$name" -max_total_time="$secs" \
	    -print_final_stats=1 -artifact_prefix="$out/$name-" $extra $FUZZ_FLAGS \
	    "tests/fuzz/corpus-$name" $seeds; then
		echo "fuzz: $name FAILED (see $out/$name-*)" >&2
		status=1
	fi
done
exit $status
