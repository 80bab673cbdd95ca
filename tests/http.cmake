# http.cmake - the HTTP example's tests: the parser's unit test and the server's
# integration test on every backend (loopback only, bounded in time).
if(TARGET rx_http_parser)
  add_executable(test_http_parser ${CMAKE_CURRENT_LIST_DIR}/test_http_parser.c)
  target_compile_options(test_http_parser PRIVATE -Wall -Wextra $<$<BOOL:${REACTOR_WERROR}>:-Werror>)
  target_link_libraries(test_http_parser PRIVATE rx_http_parser PkgConfig::CMOCKA)
  add_test(NAME http.parser COMMAND test_http_parser)
  set_tests_properties(http.parser PROPERTIES TIMEOUT 60 LABELS "examples")
endif()

if(TARGET reactor-httpd)
  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  foreach(b ${RX_TEST_BACKENDS})
    if(b STREQUAL "kqueue" AND NOT REACTOR_WITH_KQUEUE)
      continue() # the emulation is linked into tests only, not into the examples
    endif()
    add_test(NAME http.server.${b}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_http_server.py
              $<TARGET_FILE:reactor-httpd> ${b})
    set_tests_properties(http.server.${b} PROPERTIES TIMEOUT 180 LABELS "examples;${b}")
  endforeach()
endif()
