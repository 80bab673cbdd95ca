#!/usr/bin/env bash
# bench/syscalls.sh - system calls per one-request connection, counted with
# strace -f -c on the server: reactor-httpd serving a static file from --root,
# and (with --nginx) nginx serving the same file from the same docroot.
#
#   bench/syscalls.sh [--httpd PATH] [-n N] [--path /URL] [--nginx] [--fallback]
#
# Each server is counted twice, for N one-request connections and for none
# (start and stop only); the difference divided by N is the count per
# connection, and the table of the N run is printed, each line divided by N.
# The client is Python (connect, GET with Connection: close, read to the end,
# close), one connection at a time. --fallback also counts reactor-httpd with
# RX_HTTPD_NO_OPENAT2=1 (the portable component walker instead of openat2).
# The docroot is made under /tmp/rx-sys.XXXXXX/www (three components deep:
# realpath's cost grows with the depth). Loopback only; every process started
# here is stopped here, by its PID.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
httpd=$top/build/examples/reactor-httpd
n=2000
path=/docs/guide/page.html
nginx=0
fallback=0
while [ $# -gt 0 ]; do
    case $1 in
    --httpd) httpd=$2; shift ;;
    -n) n=$2; shift ;;
    --path) path=$2; shift ;;
    --nginx) nginx=1 ;;
    --fallback) fallback=1 ;;
    -h | --help) sed -n '2,/^set -eu/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "syscalls.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
for tool in strace python3; do
    command -v $tool >/dev/null || { echo "syscalls.sh: $tool not found" >&2; exit 1; }
done
[ -x "$httpd" ] || { echo "syscalls.sh: $httpd not found: build first" >&2; exit 1; }

tmp=$(mktemp -d /tmp/rx-sys.XXXXXX)
spid=''
cleanup() {
    [ -z "$spid" ] || { kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; } || true
    rm -rf "$tmp"
}
trap cleanup EXIT
www=$tmp/www
mkdir -p "$www/docs/guide"
printf 'static hello\n' >"$www/hello.txt"
printf '<p>a page</p>\n' >"$www/docs/guide/page.html"
printf '<p>index</p>\n' >"$www/index.html"
chmod -R a+rX "$tmp"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

client() { # PORT N: N one-request connections, each answer checked
    python3 - "$1" "$2" "$path" <<'EOF'
import socket, sys
port, n, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % path)
    got = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        got += b
    s.close()
    if not got.startswith(b"HTTP/1.1 200"):
        sys.exit(f"request {i}: {got[:80]!r}")
EOF
}

# count OUT N PORT CMD...: runs CMD under strace -f -c, N connections, SIGTERM.
count() {
    local out=$1 conns=$2 port=$3 i pid=''
    shift 3
    strace -f -c -o "$out" "$@" >"$out.log" 2>&1 &
    spid=$!
    for ((i = 0; i < 200; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.05
    done
    pid=$(pgrep -P "$spid" | head -n 1)
    [ "$conns" = 0 ] || client "$port" "$conns"
    kill -TERM "$pid"
    wait "$spid" || true
    spid=''
}

calls() { awk '$NF == "total" { print $4 }' "$1"; }

measure() { # NAME CMD... (the string @PORT in CMD is replaced by a free port)
    local name=$1 port
    shift
    port=$(free_port)
    count "$tmp/$name.0" 0 "$port" "${@//@PORT/$port}"
    port=$(free_port)
    count "$tmp/$name.n" "$n" "$port" "${@//@PORT/$port}"
    local c0 cn
    c0=$(calls "$tmp/$name.0")
    cn=$(calls "$tmp/$name.n")
    echo "== $name: $(awk -v a="$cn" -v b="$c0" -v n="$n" 'BEGIN { printf "%.2f", (a - b) / n }') system calls per one-request connection ($n connections: $cn calls; start and stop alone: $c0)"
    awk -v n="$n" '/^-+/ { next } $NF != "total" && $4 ~ /^[0-9]+$/ && $4 >= n / 20 {
        printf "   %-16s %6.2f\n", $NF, $4 / n }' "$tmp/$name.n"
}

echo "GET $path, $n one-request connections; $(strace -V | head -n 1); $(uname -sr)"
# As root, reactor-httpd wants --allow-root (or --user); builds from before it do not know it.
asroot=()
"$httpd" --help | grep -q -- --allow-root && asroot=(--allow-root)
measure reactor-httpd "$httpd" --port @PORT --root "$www" --quiet "${asroot[@]}"
if [ "$fallback" = 1 ]; then
    measure reactor-httpd-fallback env RX_HTTPD_NO_OPENAT2=1 \
        "$httpd" --port @PORT --root "$www" --quiet "${asroot[@]}"
fi
if [ "$nginx" = 1 ]; then
    command -v nginx >/dev/null || { echo "syscalls.sh: nginx not found" >&2; exit 1; }
    nport=$(free_port)
    mkdir -p "$tmp/nginx/logs"
    # One process (no master), sendfile on, no access log: the same work as reactor-httpd's.
    conf() {
        cat <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $tmp/nginx/body;
    server {
        listen 127.0.0.1:$1;
        root $www;
    }
}
EOF
    }
    conf @PORT >"$tmp/nginx/nginx.conf.in"
    nginx_run() { # PORT: an nginx config for that port, then nginx
        sed "s/@PORT/$1/" "$tmp/nginx/nginx.conf.in" >"$tmp/nginx/nginx.$1.conf"
        exec nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.$1.conf"
    }
    export -f nginx_run
    export tmp
    measure nginx bash -c 'nginx_run "$0"' @PORT
    echo "   $(nginx -v 2>&1)"
fi
