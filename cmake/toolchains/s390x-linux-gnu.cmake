# s390x-linux-gnu.cmake - cross-compiles for IBM Z (64-bit, big-endian) Linux
# with Debian's cross gcc (gcc-s390x-linux-gnu) and runs the built programs,
# ctest included, under qemu-user. Big-endian is why this target is here:
# it catches code that assumes the byte order of the machines we develop on.
#
#     cmake -S . -B build/s390x \
#           -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/s390x-linux-gnu.cmake
#
# The tests also need the target's cmocka (Debian multiarch:
# libcmocka-dev:s390x); scripts/cross-check.sh installs it when root.
set(RX_CROSS_TRIPLET s390x-linux-gnu)
set(RX_CROSS_QEMU qemu-s390x)
set(CMAKE_SYSTEM_PROCESSOR s390x)
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross.cmake)
