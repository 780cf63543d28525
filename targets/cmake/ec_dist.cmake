# ec_dist.cmake — makes a self-contained dist/ folder for a program: the program, its data files, and
# the shared libraries it needs (not glibc's) in dist/lib, found through RPATH $ORIGIN/lib.
#
# In a CMakeLists (device folders carry a copy of this file):
#   include(${CMAKE_CURRENT_SOURCE_DIR}/ec_dist.cmake)
#   ec_add_dist(my_prog FILES ${CMAKE_CURRENT_SOURCE_DIR}/weights.bin)
# After each build of my_prog, ${CMAKE_BINARY_DIR}/dist holds it, and dist/glibc-min.txt the
# oldest glibc that runs everything in dist/ (the highest GLIBC_x.y symbol version they need).
# Script mode (what the build runs): cmake -DPROGRAM=P -DDIST=D "-DLIBDIRS=a;b" "-DFILES=f;g"
#   [-DREADELF=readelf] -P ec_dist.cmake
cmake_minimum_required(VERSION 3.20)

if(NOT CMAKE_SCRIPT_MODE_FILE)
  set(_EC_DIST_SCRIPT ${CMAKE_CURRENT_LIST_FILE})
  function(ec_add_dist target)
    cmake_parse_arguments(ARG "" "" "FILES;LIBDIRS" ${ARGN})
    # DT_RPATH (not RUNPATH) so that the libraries' own dependencies (XNNPACK's pthreadpool and
    # cpuinfo) are found in dist/lib too: RUNPATH applies only to the program's direct needs.
    set_target_properties(${target} PROPERTIES BUILD_RPATH "$ORIGIN/lib" SKIP_BUILD_RPATH OFF)
    target_link_options(${target} PRIVATE "LINKER:--disable-new-dtags")
    # Search the folders of everything the target links by path, then the linker's defaults.
    # (and of what the libraries it links link in turn: a runtime library carries XNNPACK),
    # then the sysroot's: a build folder first configured without EC_SYSROOT keeps the compiler's
    # implicit folders of that first run.
    set(dirs ${ARG_LIBDIRS})
    get_target_property(libs ${target} LINK_LIBRARIES)
    foreach(l IN LISTS libs)
      if(TARGET "${l}")
        get_target_property(sub "${l}" LINK_LIBRARIES)
        if(sub)
          list(APPEND libs ${sub})
        endif()
      endif()
    endforeach()
    foreach(l IN LISTS libs)
      if(IS_ABSOLUTE "${l}")
        get_filename_component(dir "${l}" DIRECTORY)
        list(APPEND dirs "${dir}")
      endif()
    endforeach()
    if(EC_SYSROOT AND CMAKE_LIBRARY_ARCHITECTURE)
      list(APPEND dirs ${EC_SYSROOT}/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE} ${EC_SYSROOT}/lib/${CMAKE_LIBRARY_ARCHITECTURE})
    endif()
    if(EC_TARGET_LIBC_PREFIX)
      list(APPEND dirs ${EC_TARGET_LIBC_PREFIX}/lib)
    endif()
    foreach(d IN LISTS CMAKE_C_IMPLICIT_LINK_DIRECTORIES)
      list(APPEND dirs "${d}")
    endforeach()
    list(REMOVE_DUPLICATES dirs)
    set(readelf "${CMAKE_READELF}")
    if(NOT readelf)
      find_program(readelf readelf)
    endif()
    add_custom_command(TARGET ${target} POST_BUILD
      COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:${target}> -DDIST=${CMAKE_BINARY_DIR}/dist
              "-DLIBDIRS=${dirs}" "-DFILES=${ARG_FILES}" -DREADELF=${readelf}
              -P ${_EC_DIST_SCRIPT}
      COMMENT "Making dist/ for ${target}"
      VERBATIM)
  endfunction()
  return()
endif()

# ---- script mode ----------------------------------------------------------------------------------
if(NOT PROGRAM OR NOT DIST)
  message(FATAL_ERROR "ec_dist.cmake: PROGRAM and DIST are required")
endif()
if(NOT READELF)
  find_program(READELF readelf REQUIRED)
endif()

# glibc's own libraries, and libgcc_s which every glibc system has, are the board's: never copy them.
set(_skip "^(ld-linux.*|libgcc_s|libc|libm|libmvec|libpthread|libdl|librt|libutil|libresolv|libanl)\\.so")

function(_ec_needed file out)
  execute_process(COMMAND ${READELF} -d --wide ${file} OUTPUT_VARIABLE txt RESULT_VARIABLE rc
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "ec_dist: ${READELF} -d ${file} failed: ${err}")
  endif()
  string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*\\[[^]\n]+\\]" lines "${txt}")
  set(names "")
  foreach(l IN LISTS lines)
    string(REGEX REPLACE ".*\\[([^]]+)\\].*" "\\1" n "${l}")
    list(APPEND names "${n}")
  endforeach()
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

# Several programs of one folder share dist/ and its lib/: add, never wipe.
file(MAKE_DIRECTORY ${DIST}/lib)
file(COPY ${PROGRAM} DESTINATION ${DIST})
foreach(f IN LISTS FILES)
  file(COPY ${f} DESTINATION ${DIST})
endforeach()

set(queue ${PROGRAM})
set(done "")
set(copied "")
while(queue)
  list(POP_FRONT queue cur)
  _ec_needed(${cur} needed)
  foreach(n IN LISTS needed)
    if(n MATCHES "${_skip}" OR n IN_LIST done)
      continue()
    endif()
    list(APPEND done ${n})
    set(found "")
    foreach(d IN LISTS LIBDIRS)
      if(EXISTS "${d}/${n}")
        set(found "${d}/${n}")
        break()
      endif()
    endforeach()
    if(NOT found)
      message(FATAL_ERROR "ec_dist: ${n} (needed by ${cur}) is in none of: ${LIBDIRS}")
    endif()
    get_filename_component(real "${found}" REALPATH)
    # Copied under the name the loader asks for (the soname), as a plain file.
    file(COPY_FILE "${real}" "${DIST}/lib/${n}")
    list(APPEND copied "${DIST}/lib/${n}")
    list(APPEND queue "${real}")
  endforeach()
endwhile()

# The oldest glibc that runs it: the highest GLIBC_ symbol version anything in dist/ asks for.
get_filename_component(prog_name ${PROGRAM} NAME)
set(min "0")
file(GLOB elves ${DIST}/* ${DIST}/lib/*)
foreach(f IN LISTS elves)
  if(IS_DIRECTORY ${f})
    continue()
  endif()
  file(READ ${f} magic LIMIT 4 HEX)
  if(NOT magic STREQUAL "7f454c46")
    continue()
  endif()
  execute_process(COMMAND ${READELF} -V --wide ${f} OUTPUT_VARIABLE txt ERROR_QUIET)
  string(REGEX MATCHALL "Name: GLIBC_[0-9]+\\.[0-9]+(\\.[0-9]+)?" vers "${txt}")
  foreach(v IN LISTS vers)
    string(REPLACE "Name: GLIBC_" "" v "${v}")
    if(v VERSION_GREATER min)
      set(min ${v})
    endif()
  endforeach()
endforeach()
file(WRITE ${DIST}/glibc-min.txt "${min}\n")
list(LENGTH copied nlib)
message(STATUS "dist: ${DIST} (${prog_name} and ${nlib} libraries; dist/ needs glibc >= ${min})")
