# tests/fast — the fast kernels (XNNPACK, OpenBLAS) and the lowering: fastc compiles a model
# through ec_lower for --kernels xnnpack; tests build the generated folders and compare outputs.
add_executable(ec_fastc ${CMAKE_CURRENT_LIST_DIR}/fastc.c)
target_link_libraries(ec_fastc PRIVATE ec_compiler)

# The 8 zoo models through the fast kernels against torch (1e-4 of the largest output); the
# models are exported on first use into the build folder's zoo cache.
set(EC_FAST_ZOO ${CMAKE_BINARY_DIR}/zoo-cache)
foreach(m squeezenet1_1 mobilenet_v2 resnet18 resnet50 googlenet inception_v3 densenet121 shufflenet_v2_x1_0)
  add_test(NAME zoo_fast_${m}
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/zoo_check.sh $<TARGET_FILE:ec_fastc> ${EC_FAST_ZOO} ${m}
            ${CMAKE_BINARY_DIR}/fast/${m})
  set_tests_properties(zoo_fast_${m} PROPERTIES LABELS "zoo;slow" TIMEOUT 900 RESOURCE_LOCK zoo_export)
endforeach()
# Every lowering step switched off in turn changes no result.
foreach(m resnet18 mobilenet_v2 googlenet shufflenet_v2_x1_0)
  foreach(p channel-shuffle fold-pad nhwc fuse-act concat-in-place)
    add_test(NAME zoo_fast_${m}_no_${p}
      COMMAND ${CMAKE_CURRENT_LIST_DIR}/zoo_check.sh $<TARGET_FILE:ec_fastc> ${EC_FAST_ZOO} ${m}
              ${CMAKE_BINARY_DIR}/fast/${m}_no_${p} --no-pass ${p})
    set_tests_properties(zoo_fast_${m}_no_${p} PROPERTIES LABELS "zoo;slow" TIMEOUT 900 RESOURCE_LOCK zoo_export)
  endforeach()
endforeach()

# The fast path end to end on a tiny model through the real CLI, against `edgecc eval`.
add_test(NAME fast_tiny
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/tiny_check.sh $<TARGET_FILE:edgecc> ${CMAKE_BINARY_DIR}/fast/tiny)
set_tests_properties(fast_tiny PROPERTIES LABELS "unit;fast" TIMEOUT 300)

# Linear Resize/Upsample on XNNPACK's bilinear resize (each coordinate mode it runs, and one it
# must not), against `edgecc eval`.
add_test(NAME fast_resize
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/resize_check.sh $<TARGET_FILE:edgecc> ${CMAKE_BINARY_DIR}/fast/resize)
set_tests_properties(fast_resize PROPERTIES LABELS "unit;fast" TIMEOUT 300)
