# core.cmake - the reactor core's tests, run once per backend in RX_TEST_BACKENDS
# (see services.cmake for the conventions), included by tests/CMakeLists.txt.
set(RX_CORE_TESTS register dispatch stale model)

foreach(t ${RX_CORE_TESTS})
  if(NOT EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
    continue()
  endif()
  foreach(b ${RX_TEST_BACKENDS})
    if(DEFINED RX_TEST_LIB_${b})
      set(lib ${RX_TEST_LIB_${b}})
      set(exe test_${t}_${lib})
    else()
      set(lib reactor_static)
      set(exe test_${t})
    endif()
    if(NOT TARGET ${exe})
      add_executable(${exe} ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
      target_compile_definitions(${exe} PRIVATE _POSIX_C_SOURCE=200809L)
      target_compile_options(${exe} PRIVATE -Wall -Wextra $<$<BOOL:${REACTOR_WERROR}>:-Werror>)
      target_link_libraries(${exe} PRIVATE ${lib} PkgConfig::CMOCKA Threads::Threads)
    endif()
    add_test(NAME core.${t}.${b} COMMAND ${exe})
    set_tests_properties(core.${t}.${b} PROPERTIES
      ENVIRONMENT RX_TEST_BACKEND=${b}
      TIMEOUT 120
      LABELS "core;${b}")
  endforeach()
endforeach()
