# tests/unit — cmocka unit tests of the compiler's pieces, and the Python-driven bad-input and
# corruption tests of the edgecc binary (label `unit`).
find_path(EC_CMOCKA_INCLUDE cmocka.h)
find_library(EC_CMOCKA_LIB cmocka)
if(NOT EC_CMOCKA_INCLUDE OR NOT EC_CMOCKA_LIB)
  message(FATAL_ERROR "the unit tests need cmocka: install the Debian package libcmocka-dev (apt-get install libcmocka-dev)")
endif()

foreach(t ir ops sha256 prescan memplan)
  add_executable(test_${t} ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_${t}.c)
  target_include_directories(test_${t} PRIVATE ${EC_CMOCKA_INCLUDE} ${CMAKE_CURRENT_SOURCE_DIR}/unit)
  target_link_libraries(test_${t} PRIVATE ec_compiler ${EC_CMOCKA_LIB})
  add_test(NAME unit_${t} COMMAND test_${t})
  set_tests_properties(unit_${t} PROPERTIES LABELS unit TIMEOUT 120)
endforeach()

# The stages are kept apart by the build: with each stage library's compile flags, a header of a
# stage it may not see (the planner including codegen.h) is not found (docs/architecture.md).
add_test(NAME unit_stage_includes
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/unit/stage_includes.py ${CMAKE_SOURCE_DIR}
                 ${CMAKE_BINARY_DIR})
set_tests_properties(unit_stage_includes PROPERTIES LABELS unit TIMEOUT 120)

# Lowering's recorded kernel choices equal a fresh choice (test_kernel_record.c): on the golden
# example and every ONNX node test edgecc loads (label unit), and on the zoo models (label zoo).
add_executable(test_kernel_record ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_kernel_record.c)
target_link_libraries(test_kernel_record PRIVATE ec_compiler)
add_test(NAME unit_kernel_record
         COMMAND sh -c "\"$0\" \"$@\" 2>/dev/null" $<TARGET_FILE:test_kernel_record>
                 ${CMAKE_SOURCE_DIR}/examples/digits/digits.onnx --min-loaded 700
                 --dir /usr/share/libonnx-testdata/data/node)
set_tests_properties(unit_kernel_record PROPERTIES LABELS unit TIMEOUT 300)
set(EC_RECORD_ZOO)
foreach(m squeezenet1_1 mobilenet_v2 resnet18 resnet50 googlenet inception_v3 densenet121 shufflenet_v2_x1_0)
  list(APPEND EC_RECORD_ZOO ${EC_ZOO_CACHE}/${m}.onnx)
endforeach()
add_test(NAME zoo_kernel_record COMMAND test_kernel_record ${EC_RECORD_ZOO})
set_tests_properties(zoo_kernel_record PROPERTIES LABELS zoo TIMEOUT 900 FIXTURES_REQUIRED ec_zoo)

# Malformed models made at test time, the deep-nesting file, local functions, external data.
add_test(NAME unit_bad_inputs
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/unit/bad_inputs.py
                 --edgecc $<TARGET_FILE:edgecc> --work ${CMAKE_BINARY_DIR}/unit/bad_inputs)
set_tests_properties(unit_bad_inputs PROPERTIES LABELS unit TIMEOUT 300)

# Truncations and seeded byte flips of three small models, with the normal build and with an
# ASan+UBSan build of edgecc made once into the build folder (fixture `ec_asan_build`).
set(EC_CORRUPT_MODELS
    ${CMAKE_SOURCE_DIR}/examples/digits/digits.onnx
    /usr/share/libonnx-testdata/data/node/test_layer_normalization_2d_axis0_expanded/model.onnx
    /usr/share/libonnx-testdata/data/node/test_softmax_axis_1_expanded/model.onnx)
set(EC_ASAN_DIR ${CMAKE_BINARY_DIR}/asan)
add_test(NAME unit_asan_build
         COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_SOURCE_DIR} -DBIN=${EC_ASAN_DIR}
                 -DGENERATOR=${CMAKE_GENERATOR} -DCC=${CMAKE_C_COMPILER}
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/unit/asan_build.cmake)
set_tests_properties(unit_asan_build PROPERTIES LABELS unit TIMEOUT 900 FIXTURES_SETUP ec_asan_build)
add_test(NAME unit_corrupt_models
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/unit/corrupt_models.py
                 --edgecc $<TARGET_FILE:edgecc> --work ${CMAKE_BINARY_DIR}/unit/corrupt
                 --flips 1000 --seed 20240601 ${EC_CORRUPT_MODELS})
# Under ASan each case costs about 10x: CI runs the first 250 flips of the same seed (every
# truncation too); the 1000 of unit_corrupt_models run under ASan in the slow label.
add_test(NAME unit_corrupt_models_asan
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/unit/corrupt_models.py
                 --edgecc ${EC_ASAN_DIR}/edgecc --work ${CMAKE_BINARY_DIR}/unit/corrupt_asan
                 --flips 250 --seed 20240601 ${EC_CORRUPT_MODELS})
add_test(NAME unit_corrupt_models_asan_full
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/unit/corrupt_models.py
                 --edgecc ${EC_ASAN_DIR}/edgecc --work ${CMAKE_BINARY_DIR}/unit/corrupt_asan_full
                 --flips 1000 --seed 20240601 ${EC_CORRUPT_MODELS})
set_tests_properties(unit_corrupt_models_asan_full PROPERTIES
                     LABELS "unit;slow" TIMEOUT 2400 FIXTURES_REQUIRED ec_asan_build)
add_test(NAME unit_bad_inputs_asan
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/unit/bad_inputs.py
                 --edgecc ${EC_ASAN_DIR}/edgecc --work ${CMAKE_BINARY_DIR}/unit/bad_inputs_asan)
set_tests_properties(unit_corrupt_models PROPERTIES LABELS unit TIMEOUT 900)
set_tests_properties(unit_corrupt_models_asan unit_bad_inputs_asan PROPERTIES
                     LABELS unit TIMEOUT 1200 FIXTURES_REQUIRED ec_asan_build)

# One order for every compile: only compiler/pipeline/ calls lowering and the planner.
add_test(NAME unit_one_pipeline COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/unit/one_pipeline.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(unit_one_pipeline PROPERTIES LABELS unit TIMEOUT 60)
add_executable(test_lower_query ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_lower_query.c)
target_include_directories(test_lower_query PRIVATE ${EC_CMOCKA_INCLUDE} ${CMAKE_CURRENT_SOURCE_DIR}/unit)
target_link_libraries(test_lower_query PRIVATE ec_compiler ${EC_CMOCKA_LIB})
add_test(NAME unit_lower_query COMMAND test_lower_query ${CMAKE_SOURCE_DIR}/examples/digits/digits.onnx)
set_tests_properties(unit_lower_query PROPERTIES LABELS unit TIMEOUT 60)

# Issue 17: subgraphs (If, Loop, Scan) — scoping errors, and evaluation against numpy.
add_test(NAME unit_control_flow
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/unit/control_flow.py
                 --edgecc $<TARGET_FILE:edgecc> --work ${CMAKE_BINARY_DIR}/unit/control_flow)
set_tests_properties(unit_control_flow PROPERTIES LABELS unit TIMEOUT 120)

# The clusters' runtime with the shared XNNPACK pool (issue 13), no model: a cluster thread asleep
# in a wait, or done with its cluster, wakes to run the tiles another cluster publishes; every tile
# runs once; nothing spins between runs. Needs pthreadpool.h only (eck_pool.c defines its functions).
find_path(EC_PTHREADPOOL_INCLUDE pthreadpool.h)
if(NOT EC_PTHREADPOOL_INCLUDE)
  message(FATAL_ERROR "unit_cluster_runtime needs pthreadpool.h: install libpthreadpool-dev")
endif()
add_executable(test_cluster_runtime ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_cluster_runtime.c
                                    ${CMAKE_SOURCE_DIR}/kernels/xnnpack/eck_pool.c)
target_include_directories(test_cluster_runtime PRIVATE ${EC_CMOCKA_INCLUDE} ${EC_PTHREADPOOL_INCLUDE}
                                                        ${CMAKE_SOURCE_DIR}/kernels/xnnpack)
target_link_libraries(test_cluster_runtime PRIVATE ecrt ${EC_CMOCKA_LIB} Threads::Threads)
add_test(NAME unit_cluster_runtime COMMAND test_cluster_runtime)
set_tests_properties(unit_cluster_runtime PROPERTIES LABELS unit TIMEOUT 120)

# The activation x activation MatMul kernel (kernels/blas/eck_blas.c) against a brute-force
# product on every small-product kernel the CPU has, and no allocation per call with
# OPENBLAS_CORETYPE unset (OpenBLAS's own choice of core, as on a user's machine).
add_executable(test_blas_gemm ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_blas_gemm.c ${CMAKE_SOURCE_DIR}/kernels/blas/eck_blas.c)
target_include_directories(test_blas_gemm PRIVATE ${CMAKE_SOURCE_DIR}/kernels/blas ${CMAKE_SOURCE_DIR}/kernels/ref)
target_link_libraries(test_blas_gemm PRIVATE eck_ref openblas m)
add_test(NAME unit_blas_gemm COMMAND test_blas_gemm)
set_tests_properties(unit_blas_gemm PROPERTIES LABELS unit TIMEOUT 300
                     ENVIRONMENT_MODIFICATION "OPENBLAS_CORETYPE=unset:;OPENBLAS_NUM_THREADS=set:1")
