# fuzz.cmake - the API fuzzer, included by tests/CMakeLists.txt after
# http.cmake (which defines REACTOR_FUZZ and builds the parser's fuzzer):
#   api.fuzz.smoke.BACKEND   fuzz_api over its seed corpus, then a few
#                            thousand mutations, on each backend
# The library is compiled again into each fuzzer with coverage
# instrumentation (fuzzer-no-link), so that libFuzzer sees its branches;
# kqueue is fuzzed through the emulation's build, as the tests do.
if(NOT REACTOR_FUZZ OR NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  return()
endif()

set(rx_fuzz_lib_flags -fsanitize=fuzzer-no-link,address,undefined
                      -fno-sanitize-recover=undefined -g -O1)
set(rx_fuzz_flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
list(TRANSFORM RX_CORE_SOURCES PREPEND ${PROJECT_SOURCE_DIR}/ OUTPUT_VARIABLE rx_fuzz_core)

# fuzz_api<suffix> on library `lib`, and a smoke test per backend in `backends`.
function(rx_add_api_fuzzer suffix lib backends)
  add_executable(fuzz_api${suffix} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_api.c)
  target_compile_definitions(fuzz_api${suffix} PRIVATE _POSIX_C_SOURCE=200809L)
  target_compile_options(fuzz_api${suffix} PRIVATE ${rx_fuzz_flags} -g -O1 ${RX_WARNINGS})
  target_link_options(fuzz_api${suffix} PRIVATE ${rx_fuzz_flags})
  target_link_libraries(fuzz_api${suffix} PRIVATE ${lib})
  foreach(b ${backends})
    # Every seed, then 3,000 mutations: seconds. New inputs go to the build tree.
    set(corpus ${CMAKE_CURRENT_BINARY_DIR}/fuzz-api-corpus-${b})
    file(MAKE_DIRECTORY ${corpus})
    add_test(NAME api.fuzz.smoke.${b}
      COMMAND fuzz_api${suffix} -runs=3000 -seed=1 ${corpus} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/api)
    set_tests_properties(api.fuzz.smoke.${b} PROPERTIES
      ENVIRONMENT RX_FUZZ_BACKEND=${b} TIMEOUT 120 LABELS "core;${b}")
  endforeach()
endfunction()

set(rx_native "")
foreach(b EPOLL IO_URING POLL SELECT KQUEUE)
  if(REACTOR_WITH_${b})
    string(TOLOWER ${b} lb)
    list(APPEND rx_native ${lb})
  endif()
endforeach()
list(TRANSFORM RX_BACKEND_SOURCES PREPEND ${PROJECT_SOURCE_DIR}/ OUTPUT_VARIABLE rx_fuzz_backends)
add_library(rx_fuzz_reactor STATIC ${rx_fuzz_core} ${rx_fuzz_backends})
rx_configure_library(rx_fuzz_reactor)
target_compile_options(rx_fuzz_reactor PRIVATE ${rx_fuzz_lib_flags})
target_link_libraries(rx_fuzz_reactor INTERFACE Threads::Threads)
rx_add_api_fuzzer("" rx_fuzz_reactor "${rx_native}")

# The kqueue backend on Linux: as reactor_kqemu is built (tests/CMakeLists.txt).
function(rx_add_kqemu_fuzz_library)
  add_library(rx_fuzz_reactor_kqemu STATIC ${rx_fuzz_core} ${PROJECT_SOURCE_DIR}/backends/kqueue.c
                                           ${PROJECT_SOURCE_DIR}/backends/poll.c)
  set(RX_BACKEND_DEFS RX_HAVE_KQUEUE=1 RX_HAVE_POLL=1)
  set(RX_HAS_EVENTFD OFF)
  rx_configure_library(rx_fuzz_reactor_kqemu)
  target_compile_options(rx_fuzz_reactor_kqemu PRIVATE ${rx_fuzz_lib_flags})
  target_link_libraries(rx_fuzz_reactor_kqemu PUBLIC rx_kqueue_emu Threads::Threads)
endfunction()
if(TARGET rx_kqueue_emu)
  rx_add_kqemu_fuzz_library()
  rx_add_api_fuzzer(_kqemu rx_fuzz_reactor_kqemu kqueue)
endif()
