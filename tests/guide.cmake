# guide.cmake - runs every program of docs/guide.md (examples/guide/) through
# tests/test_guide.py, on loopback: guide.<program>, and for the libreactor
# steps guide.<program>.<backend> once per backend the examples link.
if(TARGET guide_01_blocking)
  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  set(rx_guide_plain 01_blocking:blocking 02_threads:http 03_select:http 04_poll:http)
  if(TARGET guide_05_epoll)
    list(APPEND rx_guide_plain 05_epoll:http)
  endif()
  foreach(pk ${rx_guide_plain})
    string(REPLACE ":" ";" pk ${pk})
    list(GET pk 0 p)
    list(GET pk 1 kind)
    add_test(NAME guide.${p}
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_guide.py
              $<TARGET_FILE:guide_${p}> ${kind})
    set_tests_properties(guide.${p} PROPERTIES TIMEOUT 60 LABELS "examples;guide")
  endforeach()
  foreach(pk 06_selectors:http 07_echo:echo 08_timers_signals:timers 09_work_pool:work)
    string(REPLACE ":" ";" pk ${pk})
    list(GET pk 0 p)
    list(GET pk 1 kind)
    foreach(b EPOLL IO_URING KQUEUE POLL SELECT)
      if(NOT REACTOR_WITH_${b})
        continue()
      endif()
      string(TOLOWER ${b} lb)
      add_test(NAME guide.${p}.${lb}
        COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/test_guide.py
                $<TARGET_FILE:guide_${p}> ${kind} ${lb})
      set_tests_properties(guide.${p}.${lb} PROPERTIES TIMEOUT 60 LABELS "examples;guide;${lb}")
    endforeach()
  endforeach()
endif()

# The guide quotes the programs; this keeps the quotes in sync with them.
if(EXISTS ${PROJECT_SOURCE_DIR}/docs/guide.md)
  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  add_test(NAME guide.excerpts
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/check_guide_excerpts.py
            ${PROJECT_SOURCE_DIR}/docs/guide.md ${PROJECT_SOURCE_DIR}/examples/guide)
  set_tests_properties(guide.excerpts PROPERTIES TIMEOUT 30 LABELS "guide")
endif()

# reactor.h, cmake/abi-symbols.txt, docs/api.md and man/ name the same functions.
if(EXISTS ${PROJECT_SOURCE_DIR}/docs/api.md)
  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  add_test(NAME docs.api_consistency
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/check_api_docs.py ${PROJECT_SOURCE_DIR})
  set_tests_properties(docs.api_consistency PROPERTIES TIMEOUT 30 LABELS "docs")
endif()
