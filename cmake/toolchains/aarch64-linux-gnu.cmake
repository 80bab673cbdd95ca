# aarch64-linux-gnu.cmake - cross-compiles for 64-bit ARM Linux with Debian's
# cross gcc (gcc-aarch64-linux-gnu) and runs the built programs, ctest
# included, under qemu-user:
#
#     cmake -S . -B build/aarch64 \
#           -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
#
# The tests also need the target's cmocka (Debian multiarch:
# libcmocka-dev:arm64); scripts/cross-check.sh installs it when root.
set(RX_CROSS_TRIPLET aarch64-linux-gnu)
set(RX_CROSS_QEMU qemu-aarch64)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/linux-cross.cmake)
