# linux-cross.cmake - what the Debian cross toolchain files share; they set
# RX_CROSS_TRIPLET, RX_CROSS_QEMU and CMAKE_SYSTEM_PROCESSOR, then include this.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_C_COMPILER ${RX_CROSS_TRIPLET}-gcc)

# Debian installs the cross libc under /usr/<triplet> and multiarch packages
# (libcmocka-dev:<arch>) under /usr/lib/<triplet>; the cross gcc searches both.
# Headers and libraries come only from there, programs only from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${RX_CROSS_TRIPLET})
set(CMAKE_LIBRARY_ARCHITECTURE ${RX_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# pkg-config must describe the target's packages, not the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${RX_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# -L: qemu's loader comes from the cross sysroot. LD_LIBRARY_PATH makes that
# loader take libc from the same place too: once multiarch packages are
# installed, the host's ld.so.cache also lists /lib/<triplet>/libc.so.6 of
# libc6:<arch>, a different build (2.36-9 against the cross 2.36-8 on Debian
# 12), and a loader paired with another build's libc hangs in pthread_create.
# The order matters: /usr/lib/<triplet> holds that other libc too (merged /usr).
# ctest and add_custom_command run every target program through this.
set(CMAKE_CROSSCOMPILING_EMULATOR ${RX_CROSS_QEMU} -L /usr/${RX_CROSS_TRIPLET}
    -E LD_LIBRARY_PATH=/usr/${RX_CROSS_TRIPLET}/lib:/usr/lib/${RX_CROSS_TRIPLET})
