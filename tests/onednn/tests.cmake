# tests/onednn — kernels/onednn (oneDNN 2.6, Debian's libdnnl-dev) against the reference kernels on
# seeded random cases (label unit). libdnnl-dev is in scripts/packages.txt: where it is missing the
# test is still registered, and fails naming the package, rather than passing by its absence.
find_path(EC_DNNL_INCLUDE oneapi/dnnl/dnnl.h)
find_library(EC_DNNL_LIB dnnl)
if(EC_DNNL_INCLUDE AND EC_DNNL_LIB)
  # The wrappers as a library, for this test and bench/onednn's like; generated folders compile
  # their own copy. libgomp: the wrappers set oneDNN's OpenMP thread count themselves.
  add_library(eck_dnnl STATIC ${CMAKE_SOURCE_DIR}/kernels/onednn/eck_dnnl.c)
  target_include_directories(eck_dnnl PUBLIC ${CMAKE_SOURCE_DIR}/kernels/onednn ${EC_DNNL_INCLUDE})
  target_link_libraries(eck_dnnl PUBLIC eck_ref ${EC_DNNL_LIB} gomp)
  set_target_properties(eck_dnnl PROPERTIES C_STANDARD 99 C_EXTENSIONS OFF)
  # Kernels are copied into generated folders, which build with -Wall -Wextra -Werror.
  # -fopenmp: eck_dnnl_batchnorm_nhwc's loop runs on an OpenMP team (as in the generated folders).
  target_compile_options(eck_dnnl PRIVATE -Wunused-parameter -Werror -fopenmp)
  add_executable(test_onednn ${CMAKE_CURRENT_SOURCE_DIR}/onednn/test_onednn.c)
  target_link_libraries(test_onednn PRIVATE eck_dnnl m)
  set_target_properties(test_onednn PROPERTIES C_STANDARD 99)
  add_test(NAME unit_onednn COMMAND test_onednn 20261201 300)
  # The kernels of x86-64 CPUs without AVX-512 (AVX2) and without AVX2 (SSE41), whatever this
  # machine has: oneDNN's own DNNL_MAX_CPU_ISA caps what it dispatches to. The SSE41 run found the
  # two implementations eck_dnnl.c skips (bad_impls).
  foreach(isa AVX2 SSE41)
    string(TOLOWER ${isa} _isa)
    add_test(NAME unit_onednn_${_isa} COMMAND test_onednn 20261201 300)
    set_tests_properties(unit_onednn_${_isa} PROPERTIES ENVIRONMENT DNNL_MAX_CPU_ISA=${isa})
  endforeach()
  # A generated --kernels onednn program while it serves (serve_checks.py): one copy of the
  # weights after init and at the peak; libgomp passive, no worker beyond --threads, none spinning
  # after a run.
  foreach(check weights peak threads)
    add_test(NAME unit_onednn_serve_${check}
             COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/onednn/serve_checks.py ${check}
                     --edgecc $<TARGET_FILE:edgecc> --build-dir ${CMAKE_BINARY_DIR}
                     --work ${CMAKE_CURRENT_BINARY_DIR}/onednn-serve-${check})
  endforeach()
  # Without --kernels: the target's default order (x86-64: oneDNN first, op kinds it loses on
  # kept on XNNPACK), the boards and --kernels xnnpack without oneDNN (default_order.py).
  add_test(NAME unit_onednn_default_order
           COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/onednn/default_order.py
                   --edgecc $<TARGET_FILE:edgecc> --build-dir ${CMAKE_BINARY_DIR}
                   --work ${CMAKE_CURRENT_BINARY_DIR}/onednn-default-order)
else()
  foreach(t unit_onednn unit_onednn_avx2 unit_onednn_sse41 unit_onednn_serve_weights unit_onednn_serve_peak
            unit_onednn_serve_threads unit_onednn_default_order)
    add_test(NAME ${t}
             COMMAND sh -c "echo 'FAILED: oneDNN not found at configure time (oneapi/dnnl/dnnl.h, libdnnl): apt-get install libdnnl-dev (listed in scripts/packages.txt), then reconfigure'; exit 1")
  endforeach()
endif()
set_tests_properties(unit_onednn unit_onednn_avx2 unit_onednn_sse41 unit_onednn_serve_weights
                     unit_onednn_serve_peak unit_onednn_serve_threads unit_onednn_default_order
                     PROPERTIES LABELS unit TIMEOUT 300)
