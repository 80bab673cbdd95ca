# services.cmake - the tests of the loop services (timers, signals, posts, the
# work pool, fork), included by tests/CMakeLists.txt.
#
# Every program runs once per backend listed in RX_TEST_BACKENDS, which it
# reads from RX_TEST_BACKEND; the test is named <service>.<backend>. A backend
# tested through another build of the library (kqueue through the test-only
# emulation) names that target in RX_TEST_LIB_<backend>; the others link
# reactor_static.
find_package(PkgConfig REQUIRED)
if(NOT TARGET PkgConfig::CMOCKA)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()
find_package(Threads REQUIRED)

set(RX_SERVICE_TESTS timer signal post work fork)

foreach(t ${RX_SERVICE_TESTS})
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
    add_test(NAME ${t}.${b} COMMAND ${exe})
    set_tests_properties(${t}.${b} PROPERTIES
      ENVIRONMENT RX_TEST_BACKEND=${b}
      TIMEOUT 120
      LABELS services)
  endforeach()
endforeach()
