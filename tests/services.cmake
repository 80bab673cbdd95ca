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

# Named <service>.<backend>; see rx_backend_tests in tests/CMakeLists.txt.
rx_backend_tests("" services timer timer_early loop_time signal signal_storm post work fork weak hooks)
