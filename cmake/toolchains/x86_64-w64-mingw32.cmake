# x86_64-w64-mingw32.cmake - cross-compiles for 64-bit Windows with Debian's
# MinGW-w64 gcc (gcc-mingw-w64-x86-64) and runs the built programs, ctest
# included, under wine (wine64):
#
#     cmake -S . -B build/win64 \
#           -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/x86_64-w64-mingw32.cmake
#     cmake --build build/win64 -j2
#     WINEDEBUG=-all ctest --test-dir build/win64
#
# scripts/test.sh windows does all of it (docs/portability.md says what runs).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(RX_MINGW_TRIPLET x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${RX_MINGW_TRIPLET}-gcc)
set(CMAKE_RC_COMPILER ${RX_MINGW_TRIPLET}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${RX_MINGW_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# libgcc and winpthreads (the threads, mutexes and clock_gettime the library
# uses) are linked in statically: reactor.dll and the programs then need no
# MinGW runtime DLL beside them, under wine or on a real Windows machine.
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static-libgcc -static")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static-libgcc -static")

# ctest and add_custom_command run every target program through wine. The
# Debian package installs it as wine (wine64 on older releases).
find_program(RX_WINE NAMES wine wine64 wine-stable)
if(RX_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${RX_WINE})
endif()
