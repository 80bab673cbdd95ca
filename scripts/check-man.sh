#!/usr/bin/env bash
# check-man.sh - lints every manual page in man/ and fails on any diagnostic:
#
#   mandoc -T lint -W warning    mdoc(7) structure, macros, escapes, section order
#   groff -ww -mandoc            GNU troff with every warning on, formatting for a
#                                terminal (line breaking is checked only then)
#   man --warnings -l            what a user runs, where man-db is installed
#
# groff and man exit 0 even when they warn, so any output on stderr counts as
# a failure. It also checks that the pages cover the API: every function
# declared REACTOR_API in include/reactor.h is named in the NAME section of
# some page in man3 (cmake/man.cmake installs a link for each such name), and
# each page's .Dt matches its file name.
#
#   bash scripts/check-man.sh          exit status 0: every page is clean
#
# Needs mandoc and groff (Debian: apt-get install mandoc groff-base).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

for tool in mandoc groff; do
    if ! command -v "$tool" >/dev/null; then
        echo "check-man: $tool is not installed (Debian: apt-get install mandoc groff-base)" >&2
        exit 1
    fi
done

shopt -s nullglob
pages=(man/*.[1-9])
if [ ${#pages[@]} = 0 ]; then
    echo "check-man: no pages in man/" >&2
    exit 1
fi

failed=0
fail() { # page, what, output
    echo "check-man: $1: $2"
    [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/    /'
    failed=1
}

for page in "${pages[@]}"; do
    out=$(mandoc -T lint -W warning "$page" 2>&1)
    rc=$?
    [ $rc != 0 ] || [ -n "$out" ] && fail "$page" "mandoc -T lint -W warning (exit $rc)" "$out"

    out=$({ groff -ww -mandoc -z "$page" && groff -ww -mandoc -Tutf8 "$page" >/dev/null; } 2>&1)
    rc=$?
    [ $rc != 0 ] || [ -n "$out" ] && fail "$page" "groff -ww -mandoc (exit $rc)" "$out"

    if man --version 2>/dev/null | grep -q '^man '; then # man-db
        out=$(LC_ALL=C.UTF-8 MANWIDTH=80 MANPAGER=cat PAGER=cat man --warnings -l "$page" 2>&1 >/dev/null)
        rc=$?
        [ $rc != 0 ] || [ -n "$out" ] && fail "$page" "man --warnings -l (exit $rc)" "$out"
    fi

    # .Dt NAME SECTION must match the file name.
    base=$(basename "$page")
    want_dt="$(echo "${base%.*}" | tr '[:lower:]' '[:upper:]') ${base##*.}"
    dt=$(sed -n 's/^\.Dt //p' "$page" | head -n 1)
    [ "$dt" = "$want_dt" ] || fail "$page" ".Dt is '$dt', expected '$want_dt'"
done

# Every public function has a page: its name in a NAME section (.Nm lines up to .Nd).
named=$(for page in man/*.3; do
    sed -n '/^\.Sh NAME/,/^\.Nd/s/^\.Nm \([A-Za-z0-9_]*\).*/\1/p' "$page"
done | sort -u)
api=$(grep -o '^REACTOR_API [^(]*(' include/reactor.h | sed 's/.*[ *]\([A-Za-z0-9_]*\)($/\1/' | sort -u)
missing=$(comm -23 <(echo "$api") <(echo "$named"))
[ -z "$missing" ] || fail "man/*.3" "public functions without a page:" "$missing"
extra=$(comm -13 <(echo "$api") <(echo "$named"))
[ -z "$extra" ] || fail "man/*.3" "pages name functions that reactor.h does not declare:" "$extra"

if [ $failed = 0 ]; then
    echo "check-man: ${#pages[@]} pages clean (mandoc -T lint -W warning, groff -ww$(
        man --version 2>/dev/null | grep -q '^man ' && echo ', man --warnings -l'
    )); $(echo "$api" | wc -l) public functions, each named by a page"
fi
exit $failed
