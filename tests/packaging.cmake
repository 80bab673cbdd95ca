# packaging.cmake - checks of what gets installed, included by tests/CMakeLists.txt.
# The full install + consumer build (pkg-config and CMake) needs an install
# prefix and an uninstrumented build: scripts/consumer-test.sh, run by
# scripts/test.sh.

# The shared library's soname, and its exports: exactly the REACTOR_API
# functions, and exactly the checked-in ABI list with its version nodes.
add_test(NAME packaging.exports
  COMMAND bash ${PROJECT_SOURCE_DIR}/cmake/check-exports.sh
          $<TARGET_FILE:reactor> ${PROJECT_SOURCE_DIR}/include/reactor.h
          ${PROJECT_SOURCE_DIR}/cmake/abi-symbols.txt)
set_tests_properties(packaging.exports PROPERTIES TIMEOUT 30 LABELS packaging)

# The generated reactor.pc is well-formed (the consumer test uses it for real).
find_program(RX_PKG_CONFIG NAMES pkg-config pkgconf)
if(RX_PKG_CONFIG)
  add_test(NAME packaging.pkgconfig
    COMMAND ${RX_PKG_CONFIG} --validate --print-errors ${PROJECT_BINARY_DIR}/reactor.pc)
  set_tests_properties(packaging.pkgconfig PROPERTIES TIMEOUT 30 LABELS packaging)
endif()

# The public struct and enum values of soname 0 (tests/abi_layout.c): its
# build fails when they change, its run checks the library's major version.
add_executable(abi_layout abi_layout.c)
target_link_libraries(abi_layout PRIVATE reactor)
add_test(NAME packaging.abi_layout COMMAND abi_layout)
set_tests_properties(packaging.abi_layout PROPERTIES TIMEOUT 30 LABELS packaging)
