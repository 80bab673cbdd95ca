# services.cmake - the tests of the loop services (timers, signals, child
# processes, posts, the work pool, fork), included by tests/CMakeLists.txt.
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

# Named <service>.<backend>; see rx_backend_tests in tests/CMakeLists.txt.
rx_backend_tests("" services timer timer_early loop_time signal signal_storm child post work fork weak hooks)

# child_enosys.<backend>: test_child.c again, with syscall() wrapped at link
# time (GNU ld --wrap) so that pidfd_open fails with ENOSYS, as on kernels
# before 5.3 and under qemu-user: the library must fall back to SIGCHLD.
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  add_executable(test_child_enosys ${CMAKE_CURRENT_SOURCE_DIR}/test_child.c)
  target_compile_definitions(test_child_enosys PRIVATE _POSIX_C_SOURCE=200809L
                             RX_TEST_PIDFD_ENOSYS=1)
  target_compile_options(test_child_enosys PRIVATE -Wall -Wextra
                         $<$<BOOL:${REACTOR_WERROR}>:-Werror>)
  target_link_libraries(test_child_enosys PRIVATE reactor_static PkgConfig::CMOCKA
                        Threads::Threads -Wl,--wrap=syscall)
  foreach(b epoll io_uring poll select)
    if(b IN_LIST RX_TEST_BACKENDS AND NOT DEFINED RX_TEST_LIB_${b})
      add_test(NAME child_enosys.${b} COMMAND test_child_enosys)
      set_tests_properties(child_enosys.${b} PROPERTIES
        ENVIRONMENT RX_TEST_BACKEND=${b} TIMEOUT 120 LABELS "services;${b}")
    endif()
  endforeach()
endif()
