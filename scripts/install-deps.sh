#!/bin/sh
# Installs what imaptrace needs to build and test, when it is missing.
# As root it runs apt-get; otherwise it prints the command to run.
set -e
need=""
have_pc() { pkg-config --exists "$1" 2>/dev/null; }
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"
have_pc libpcap || need="$need libpcap-dev"
have_pc json-c || need="$need libjson-c-dev"
have_pc check || need="$need check"
have_pc zlib || need="$need zlib1g-dev"
have_pc libzstd || need="$need libzstd-dev"
have_pc liblz4 || need="$need liblz4-dev"
have_pc libcrypto || need="$need libssl-dev"
have_pc gmime-3.0 || need="$need libgmime-3.0-dev"
command -v python3 >/dev/null 2>&1 || need="$need python3"
# the compressed captures' end-to-end tests
command -v zstd >/dev/null 2>&1 || need="$need zstd"
command -v lz4 >/dev/null 2>&1 || need="$need lz4"
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || need="$need python3-jsonschema"
if [ "${IMT_WITH_TSHARK:-0}" = 1 ]; then
	command -v tshark >/dev/null 2>&1 || need="$need tshark"
fi
# the html report's browser tests (skipped, saying so, without it)
if [ "${IMT_WITH_CHROMIUM:-0}" = 1 ]; then
	command -v chromium >/dev/null 2>&1 || need="$need chromium"
fi
[ -z "$need" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "installing:$need"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $need >/dev/null
else
	echo "missing:$need"
	echo "run as root:  apt-get update && apt-get install -y$need"
	exit 1
fi
