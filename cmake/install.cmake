# install.cmake - what `cmake --install` puts where: the header, the shared
# and static libraries, reactor.pc for pkg-config, and a CMake package so that
# find_package(reactor) gives reactor::reactor and reactor::reactor_static.
# The installed include directory reaches the imported targets through the
# targets' $<INSTALL_INTERFACE:...> (see rx_configure_library).
# The shared library is linked with the version script cmake/libreactor.map
# (CMakeLists.txt) where the linker takes one.
# Checked by tests/packaging.cmake (exports against cmake/abi-symbols.txt,
# reactor.pc) and, end to end, by
# scripts/consumer-test.sh.
include(CMakePackageConfigHelpers)

set(RX_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/reactor)

install(FILES include/reactor.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
# Components (for CPack, cmake/package.cmake): `runtime` is the versioned
# shared library only; `dev` is everything a program is built with.
install(TARGETS reactor reactor_static
  EXPORT reactorTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(EXPORT reactorTargets NAMESPACE reactor:: DESTINATION ${RX_CMAKE_DIR} COMPONENT dev)

configure_package_config_file(cmake/reactorConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/reactorConfig.cmake INSTALL_DESTINATION ${RX_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/reactorConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/reactorConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/reactorConfigVersion.cmake
        DESTINATION ${RX_CMAKE_DIR} COMPONENT dev)

# A relocatable reactor.pc: prefix is found from the file's own place
# (${pcfiledir}), so `cmake --install --prefix DIR` works without reconfiguring.
file(RELATIVE_PATH RX_PC_UP "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" RX_PC_UP "${RX_PC_UP}")
set(RX_PC_PREFIX "\${pcfiledir}/${RX_PC_UP}")
foreach(v LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${v}}")
    set(RX_PC_${v} "${CMAKE_INSTALL_${v}}")
  else()
    set(RX_PC_${v} "\${prefix}/${CMAKE_INSTALL_${v}}")
  endif()
endforeach()
configure_file(cmake/reactor.pc.in ${CMAKE_CURRENT_BINARY_DIR}/reactor.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/reactor.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT dev)

include(cmake/man.cmake OPTIONAL)
include(cmake/package.cmake OPTIONAL)
