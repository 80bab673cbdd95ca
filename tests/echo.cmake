# echo.cmake - the echo example's integration test (tests/test_echo_server.py)
# and its load and fault test (tests/test_load.py: soak, EMFILE flood, SIGALRM
# storm), once per backend compiled into the library the example links, loopback only.
if(TARGET reactor-echo)
  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  foreach(b EPOLL IO_URING KQUEUE POLL SELECT)
    if(NOT REACTOR_WITH_${b})
      continue() # (the test-only kqueue emulation is not linked into the examples)
    endif()
    string(TOLOWER ${b} lb)
    add_test(NAME echo.server.${lb}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_echo_server.py
              $<TARGET_FILE:reactor-echo> ${lb})
    set_tests_properties(echo.server.${lb} PROPERTIES TIMEOUT 120 LABELS "examples;${lb}")
    add_test(NAME echo.load.${lb}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_load.py echo
              $<TARGET_FILE:reactor-echo> ${lb})
    set_tests_properties(echo.load.${lb} PROPERTIES TIMEOUT 120 LABELS "examples;load;${lb}")
  endforeach()
endif()
