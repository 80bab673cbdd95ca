#!/usr/bin/env bash
# soak.sh - the keep-alive soak of tests/test_load.py against both example
# servers, reactor-httpd and reactor-echo, one after the other.
#
#   scripts/soak.sh [--long] [--backend NAME] [BUILD_DIR]   (default build/gcc, epoll)
#
# Without --long: the size ctest runs (2,000 connections, 5 s). With --long:
# 10,000 connections held and exercised for 30 s per server, every byte of every
# answer checked, the server's RSS sampled (flat after the ramp) and its fds back
# to baseline after the clients close. Each process gets its own RLIMIT_NOFILE
# (the limit is per process): the client raises its soft limit to the hard one,
# the server gets connections + 128, so a hard limit of about 10,200 suffices.
# The build directory must hold a built tree (cmake --build BUILD_DIR).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
long=() backend=epoll dir=build/gcc
while [ $# -gt 0 ]; do
    case $1 in
    --long) long=(--long) ;;
    --backend) backend=$2 && shift ;;
    -h | --help) sed -n '2,12s/^# \{0,1\}//p' "$0" && exit 0 ;;
    *) dir=$1 ;;
    esac
    shift
done
need=$(( ${#long[@]} ? 10128 : 2128 ))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$need" ]; then
    echo "soak: the hard RLIMIT_NOFILE is $(ulimit -Hn); this run needs $need per process" >&2
    exit 2
fi
failed=0
for server in http:reactor-httpd echo:reactor-echo; do
    exe=$dir/examples/${server#*:}
    [ -x "$exe" ] || {
        echo "soak: $exe not found: build first (cmake --build $dir)" >&2
        exit 2
    }
    start=$(date +%s)
    python3 tests/test_load.py "${server%%:*}" "$exe" "$backend" "${long[@]}" soak || failed=1
    echo "soak: ${server#*:} on $backend took $(($(date +%s) - start)) s"
done
exit $failed
