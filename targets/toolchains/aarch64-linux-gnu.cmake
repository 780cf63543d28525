# aarch64-linux-gnu.cmake — CMake toolchain for cross-building edgecc output (and anything else)
# for 64-bit Arm Linux boards with Debian's gcc-aarch64-linux-gnu.
#
#   cmake -S OUT/pi5 -B B --toolchain toolchain.cmake -DEC_SYSROOT=/path/to/sysroot
#
# EC_SYSROOT (or the environment variable of that name) is a folder made by edgecc's
# targets/make-sysroot.sh: the :arm64 XNNPACK, pthreadpool, cpuinfo and OpenBLAS unpacked from
# Debian's packages. It is optional: without it only dependency-free (--kernels ref) code builds.
# The C library comes from the cross compiler's own folder (/usr/aarch64-linux-gnu on Debian), so
# the sysroot holds only the extra libraries; no absolute path is baked into this file.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(EC_TRIPLE aarch64-linux-gnu)

if(NOT DEFINED EC_SYSROOT AND DEFINED ENV{EC_SYSROOT})
  set(EC_SYSROOT "$ENV{EC_SYSROOT}")
endif()
set(EC_SYSROOT "${EC_SYSROOT}" CACHE PATH "aarch64 sysroot made by edgecc's targets/make-sysroot.sh")
# try_compile projects re-read this file in a fresh cache: hand the variable on to them.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES EC_SYSROOT)

if(NOT CMAKE_C_COMPILER)
  find_program(EC_CROSS_CC ${EC_TRIPLE}-gcc)
  if(NOT EC_CROSS_CC)
    message(FATAL_ERROR "no ${EC_TRIPLE}-gcc: install the Debian package gcc-aarch64-linux-gnu")
  endif()
  set(CMAKE_C_COMPILER ${EC_CROSS_CC})
endif()
if(NOT CMAKE_CXX_COMPILER)
  find_program(EC_CROSS_CXX ${EC_TRIPLE}-g++)
  if(EC_CROSS_CXX)
    set(CMAKE_CXX_COMPILER ${EC_CROSS_CXX})
  endif()
endif()

# Where the cross compiler keeps the target's C library (for find_* and for qemu's -L).
execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libc.so.6
                OUTPUT_VARIABLE _ec_libc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(_ec_libc AND IS_ABSOLUTE "${_ec_libc}")
  get_filename_component(_ec_libc "${_ec_libc}" REALPATH)
  get_filename_component(_ec_libc_dir "${_ec_libc}" DIRECTORY)
  get_filename_component(EC_TARGET_LIBC_PREFIX "${_ec_libc_dir}" DIRECTORY)
endif()

set(CMAKE_FIND_ROOT_PATH ${EC_TARGET_LIBC_PREFIX})
if(EC_SYSROOT)
  if(NOT EXISTS "${EC_SYSROOT}/usr/lib/${EC_TRIPLE}")
    message(FATAL_ERROR "EC_SYSROOT=${EC_SYSROOT} has no usr/lib/${EC_TRIPLE}: "
                        "make it with targets/make-sysroot.sh ${EC_SYSROOT}")
  endif()
  list(PREPEND CMAKE_FIND_ROOT_PATH ${EC_SYSROOT})
  # The extra libraries sit beside, not inside, the compiler's sysroot: add their folders.
  set(_ec_flags "-isystem ${EC_SYSROOT}/usr/include")
  set(_ec_link "-L${EC_SYSROOT}/usr/lib/${EC_TRIPLE} -Wl,-rpath-link,${EC_SYSROOT}/usr/lib/${EC_TRIPLE}")
  set(CMAKE_C_FLAGS_INIT "${_ec_flags}")
  set(CMAKE_CXX_FLAGS_INIT "${_ec_flags}")
  set(CMAKE_EXE_LINKER_FLAGS_INIT "${_ec_link}")
  set(CMAKE_SHARED_LINKER_FLAGS_INIT "${_ec_link}")
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_LIBRARY_ARCHITECTURE ${EC_TRIPLE})

# ctest and add_custom_command run target programs through qemu when it is installed; the board's
# CPU comes from QEMU_CPU in the environment (cortex-a76 for pi5 and the Orins, cortex-a72 for pi4).
find_program(EC_QEMU qemu-${CMAKE_SYSTEM_PROCESSOR})
if(EC_QEMU AND EC_TARGET_LIBC_PREFIX)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${EC_QEMU} -L ${EC_TARGET_LIBC_PREFIX})
endif()
