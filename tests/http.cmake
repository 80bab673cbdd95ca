# http.cmake - the HTTP example's tests, included by tests/CMakeLists.txt:
#   http.parser          the request parser's unit test (cmocka)
#   http.server.BACKEND  reactor-httpd driven by real clients, per backend compiled in
#   http.hostile.BACKEND 77 malformed or ambiguous messages (smuggling shapes first), each
#                        with our answer and why; h11 reads our pipelined answers
#   http.nginx.BACKEND   94 requests sent to reactor-httpd and to Debian's nginx on one
#                        docroot; statuses, ranges and bodies compared, the allowed
#                        differences listed with their reasons
#   http.contain.BACKEND tests/test_http_contain.py: --root containment (the symlink rule,
#                        a directory swapped for a symlink out while it is asked for, FIFOs,
#                        sockets, devices), 503 when out of descriptors, --user/--allow-root;
#                        each with openat2 and with the component walk
#   http.faults.BACKEND  reactor-httpd under faults and load: slowloris, thousands of
#                        keep-alive connections, SIGTERM under load, resets mid-file
#   http.load.BACKEND    tests/test_load.py: a 2,000-connection keep-alive soak, an
#                        EMFILE flood under 256 fds, a SIGALRM storm with the SIGUSR1
#                        statistics line, and a bounded wrk run (scripts/soak.sh --long:
#                        the 10,000-connection, 30 s soak)
#   http.fuzz.smoke      with -DREACTOR_FUZZ=ON and clang: the libFuzzer target over
#                        its seed corpus (a longer run: see the comment below)
# All traffic is on loopback and every test is bounded in time.

if(TARGET rx_http_parser)
  add_executable(test_http_parser ${CMAKE_CURRENT_LIST_DIR}/test_http_parser.c)
  target_compile_options(test_http_parser PRIVATE -Wall -Wextra $<$<BOOL:${REACTOR_WERROR}>:-Werror>)
  target_link_libraries(test_http_parser PRIVATE rx_http_parser PkgConfig::CMOCKA)
  add_test(NAME http.parser COMMAND test_http_parser)
  set_tests_properties(http.parser PROPERTIES TIMEOUT 60 LABELS "examples")
endif()

if(TARGET reactor-httpd)
  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  # The server links the real library, so only the backends compiled into it
  # (the kqueue emulation is linked into test programs only).
  foreach(B EPOLL IO_URING KQUEUE POLL SELECT)
    if(REACTOR_WITH_${B})
      string(TOLOWER ${B} b)
      # tests/test_http_NAME.py, each given the server and the backend.
      foreach(t server hostile nginx contain faults)
        add_test(NAME http.${t}.${b}
          COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_http_${t}.py
                  $<TARGET_FILE:reactor-httpd> ${b})
        set_tests_properties(http.${t}.${b} PROPERTIES TIMEOUT 180 LABELS "examples;${b}")
      endforeach()
      add_test(NAME http.load.${b}
        COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_load.py http
                $<TARGET_FILE:reactor-httpd> ${b})
      set_tests_properties(http.load.${b} PROPERTIES TIMEOUT 120 LABELS "examples;load;${b}")
    endif()
  endforeach()
endif()

# The fuzzer needs clang's libFuzzer (Debian: libclang-rt-14-dev). It compiles
# the parser's source itself, so that coverage instrumentation reaches it.
# A bounded run, as CI does:
#   tests/fuzz_http_parser -max_total_time=60 -dict=SRC/tests/fuzz/http.dict \
#       NEW_CORPUS_DIR SRC/tests/fuzz/http      (new inputs go to the first directory)
option(REACTOR_FUZZ "Build the HTTP parser's libFuzzer target (clang only)" OFF)
if(REACTOR_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(WARNING "REACTOR_FUZZ needs clang (libFuzzer); the fuzzer is not built")
  else()
    set(rx_fuzz_flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
    add_executable(fuzz_http_parser ${CMAKE_CURRENT_LIST_DIR}/fuzz_http_parser.c
                                    ${PROJECT_SOURCE_DIR}/examples/httpd/http_parser.c)
    target_include_directories(fuzz_http_parser PRIVATE ${PROJECT_SOURCE_DIR}/examples/httpd)
    target_compile_options(fuzz_http_parser PRIVATE ${rx_fuzz_flags} -g -O1 ${RX_WARNINGS})
    target_link_options(fuzz_http_parser PRIVATE ${rx_fuzz_flags})
    # A smoke run: every seed, then 20,000 mutations; seconds, not minutes. New
    # inputs go to the first directory given: the build tree's, not the seeds'.
    file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/fuzz-http-corpus)
    add_test(NAME http.fuzz.smoke
      COMMAND fuzz_http_parser -runs=20000 -seed=1
              -dict=${CMAKE_CURRENT_LIST_DIR}/fuzz/http.dict
              ${CMAKE_CURRENT_BINARY_DIR}/fuzz-http-corpus ${CMAKE_CURRENT_LIST_DIR}/fuzz/http)
    set_tests_properties(http.fuzz.smoke PROPERTIES TIMEOUT 120 LABELS "examples")
  endif()
endif()
