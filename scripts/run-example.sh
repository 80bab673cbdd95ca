#!/usr/bin/env bash
# run-example.sh - builds libreactor and its examples, then starts the HTTP
# example server (reactor-httpd) on the best backend; it prints its URL.
# Extra arguments go to the server, e.g. --port 0 or --backend poll.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

need=()
for tool in cmake make cc pkg-config; do
    command -v "$tool" >/dev/null || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake make gcc libc6-dev pkg-config >/dev/null
    else
        echo "run-example: missing ${need[*]}; install cmake, a C compiler and pkg-config" >&2
        exit 1
    fi
fi

if [ ! -f examples/httpd/http_server.c ]; then
    echo "run-example: the HTTP example (examples/httpd/http_server.c) is not in this checkout yet" >&2
    exit 1
fi
build=build/example
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DREACTOR_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
server=$build/examples/reactor-httpd
if [ ! -x "$server" ]; then
    echo "run-example: $server was not built" >&2
    exit 1
fi
if [ $# -eq 0 ]; then
    set -- --port 8080
fi
# The server refuses to run as root unless told whom to become (--user) or to
# stay root (--allow-root): as root, it becomes nobody after binding.
if [ "$(id -u)" = 0 ] && [[ " $* " != *" --user "* ]] && [[ " $* " != *" --allow-root "* ]]; then
    echo "run-example: running as root: adding --user nobody (give --allow-root to stay root)" >&2
    set -- "$@" --user nobody
fi
exec "$server" "$@"
