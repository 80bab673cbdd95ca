# package.cmake - CPack: Debian packages and a source tarball.
#
#   cmake --build BUILD --target package          libreactor0, libreactor-dev,
#                                                 reactor-examples (.deb)
#   cmake --build BUILD --target package_source   reactor-VERSION.tar.gz
#
# The split follows Debian's library packaging: libreactor0 holds only the
# versioned shared object (the soname's package, so two sonames can be
# installed side by side); libreactor-dev the header, the static library, the
# .so link, reactor.pc, the CMake package and the man pages, and depends on
# the exact libreactor0; reactor-examples the two servers. Checked end to end
# by scripts/deb-test.sh (the `deb` step of scripts/test.sh).
set(CPACK_PACKAGE_NAME reactor)
set(CPACK_PACKAGE_VENDOR "libreactor")
set(CPACK_PACKAGE_CONTACT "libreactor maintainers <libreactor@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "small portable event loop for C (select, poll, epoll, kqueue)")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_RESOURCE_FILE_README ${PROJECT_SOURCE_DIR}/README.md)

set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev examples)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends of the shared object and the servers from dpkg-shlibdeps (libc).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The servers need libreactor.so.0, which is in another of our packages: let
# dpkg-shlibdeps find it in the build tree (its Depends is set below).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${PROJECT_BINARY_DIR})

set(RX_DEB_VERSION "${PROJECT_VERSION}")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libreactor${PROJECT_VERSION_MAJOR})
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "small portable event loop for C - shared library
 libreactor turns kernel readiness (select, poll, epoll, kqueue) into callbacks,
 with timers, signals, cross-thread posts and a work pool.")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME libreactor-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libreactor${PROJECT_VERSION_MAJOR} (= ${RX_DEB_VERSION})")
set(CPACK_DEBIAN_DEV_DESCRIPTION "small portable event loop for C - development files
 Header, static library, pkg-config file (reactor), CMake package
 (find_package(reactor)) and manual pages for libreactor.")
set(CPACK_DEBIAN_EXAMPLES_PACKAGE_NAME reactor-examples)
set(CPACK_DEBIAN_EXAMPLES_PACKAGE_SECTION net)
set(CPACK_DEBIAN_EXAMPLES_DESCRIPTION "libreactor's example servers: reactor-echo and reactor-httpd")
# The servers link the shared library: the same version of it.
set(CPACK_DEBIAN_EXAMPLES_PACKAGE_DEPENDS "libreactor${PROJECT_VERSION_MAJOR} (= ${RX_DEB_VERSION})")
# A shlibs file and the ldconfig triggers, as debhelper would add them.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_GENERATE_SHLIBS ON)

set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_PACKAGE_FILE_NAME reactor-${PROJECT_VERSION})
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/\\\\.git$" "/build/" "/build-[^/]*/" "~$" "\\\\.swp$")

include(CPack)
