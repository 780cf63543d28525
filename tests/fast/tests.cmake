# tests/fast — the fast kernels (XNNPACK, OpenBLAS) and the lowering: fastc compiles a model
# through ec_lower for --kernels xnnpack; tests build the generated folders and compare outputs.
add_executable(ec_fastc ${CMAKE_CURRENT_LIST_DIR}/fastc.c)
target_link_libraries(ec_fastc PRIVATE ec_compiler)

# The 8 zoo models through the fast kernels against torch (1e-4 of the largest output); the
# models come from the build folder's zoo cache, which the fixture zoo_export fills.
set(EC_FAST_ZOO ${EC_ZOO_CACHE}) # where zoo_export put them (-DEC_ZOO_CACHE=DIR reuses a cache)
set(EC_FAST_ZOO_MODELS squeezenet1_1 mobilenet_v2 resnet18 resnet50 googlenet inception_v3 densenet121
    shufflenet_v2_x1_0)
# The pass matrix (docs/passes.md): every graph pass and every lowering step switched off in turn
# changes no result. bn-fold has work only on the re-exports that keep their BatchNormalizations
# (MODEL_bn.onnx, zoo_check.sh --bn): zoo_fast_<m>_bn folds them, zoo_fast_<m>_no_bn-fold runs them
# as kernels (squeezenet has none: its case runs the plain export). CI (label zoo) runs the whole
# matrix on these 4 models (48 cases, about 1 minute of CPU), plus squeezenet's const-fold and all
# cases: the only zoo model where const-fold off leaves nodes to run (18 Identity on biases). The
# rest is labelled slow.
set(EC_FAST_CI_MODELS resnet18 mobilenet_v2 googlenet shufflenet_v2_x1_0)
set(EC_FAST_CI_EXTRA squeezenet1_1_no_const-fold squeezenet1_1_no_all)
set(EC_FAST_OFF const-fold dce identity bn-fold channel-shuffle fold-pad nhwc fuse-act concat-in-place all)
foreach(m IN LISTS EC_FAST_ZOO_MODELS)
  if(m IN_LIST EC_FAST_CI_MODELS)
    set(labels zoo)
  else()
    set(labels "zoo;slow")
  endif()
  set(cases "${m}|")
  if(NOT m STREQUAL "squeezenet1_1")
    list(APPEND cases "${m}_bn|--bn")
  endif()
  foreach(p IN LISTS EC_FAST_OFF)
    if(p STREQUAL "bn-fold" AND NOT m STREQUAL "squeezenet1_1")
      list(APPEND cases "${m}_no_${p}|--bn --no-pass ${p}")
    else()
      list(APPEND cases "${m}_no_${p}|--no-pass ${p}")
    endif()
  endforeach()
  foreach(c IN LISTS cases)
    string(REPLACE "|" ";" c "${c}")
    list(GET c 0 name)
    list(LENGTH c len)
    set(extra "")
    if(len GREATER 1)
      list(GET c 1 extra)
      separate_arguments(extra UNIX_COMMAND "${extra}")
    endif()
    add_test(NAME zoo_fast_${name}
      COMMAND ${CMAKE_CURRENT_LIST_DIR}/zoo_check.sh $<TARGET_FILE:ec_fastc> ${EC_FAST_ZOO} ${m}
              ${CMAKE_BINARY_DIR}/fast/${name} ${extra})
    if(name IN_LIST EC_FAST_CI_EXTRA)
      set_tests_properties(zoo_fast_${name} PROPERTIES LABELS zoo TIMEOUT 900 FIXTURES_REQUIRED ec_zoo)
    else()
      set_tests_properties(zoo_fast_${name} PROPERTIES LABELS "${labels}" TIMEOUT 900 FIXTURES_REQUIRED ec_zoo)
    endif()
  endforeach()
endforeach()

# ec_fastc honours a graph pass's --no-pass (it once ran every pass while loading, so the matrix
# above compared the same program): bn-fold off keeps the BatchNormalization step, on folds it.
add_test(NAME fast_fastc_no_pass
  COMMAND sh -c "set -eu; rm -rf \"$3\"; \"$1\" \"$2\" -o \"$3/on\"; \"$1\" \"$2\" -o \"$3/off\" --no-pass bn-fold; \
                 if grep -q '(BatchNormalization)' \"$3/on/host/model_p0.c\"; then echo 'bn-fold on: BatchNormalization left'; exit 1; fi; \
                 grep -q '(BatchNormalization)' \"$3/off/host/model_p0.c\" || { echo '--no-pass bn-fold: no BatchNormalization step'; exit 1; }; \
                 rm -rf \"$3\""
          sh $<TARGET_FILE:ec_fastc> ${CMAKE_BINARY_DIR}/passes/models/conv_bn_relu.onnx ${CMAKE_BINARY_DIR}/fast/fastc_no_pass)
set_tests_properties(fast_fastc_no_pass PROPERTIES LABELS "unit;fast" TIMEOUT 120 FIXTURES_REQUIRED ec_pass_models)

# The fast path end to end on a tiny model through the real CLI, against `edgecc eval`.
add_test(NAME fast_tiny
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/tiny_check.sh $<TARGET_FILE:edgecc> ${CMAKE_BINARY_DIR}/fast/tiny)
set_tests_properties(fast_tiny PROPERTIES LABELS "unit;fast" TIMEOUT 300)

# Linear Resize/Upsample on XNNPACK's bilinear resize (each coordinate mode it runs, and one it
# must not), against `edgecc eval`.
add_test(NAME fast_resize
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/resize_check.sh $<TARGET_FILE:edgecc> ${CMAKE_BINARY_DIR}/fast/resize)
set_tests_properties(fast_resize PROPERTIES LABELS "unit;fast" TIMEOUT 300)

# The 8 zoo models with --kernels onednn (oneDNN for convolution, fully connected, pooling, Add
# and Mul; XNNPACK for the rest) against torch, as zoo_fast_<m> does for XNNPACK. oneDNN missing
# fails them (zoo_check.sh cannot link), naming nothing to skip.
foreach(m IN LISTS EC_FAST_ZOO_MODELS)
  add_test(NAME zoo_onednn_${m}
    COMMAND ${CMAKE_CURRENT_LIST_DIR}/zoo_check.sh $<TARGET_FILE:ec_fastc> ${EC_FAST_ZOO} ${m}
            ${CMAKE_BINARY_DIR}/fast/onednn_${m} --kernels onednn)
  set_tests_properties(zoo_onednn_${m} PROPERTIES LABELS zoo TIMEOUT 900 FIXTURES_REQUIRED ec_zoo)
endforeach()
# fold-pad-pool, the oneDNN-only lowering step, on the one zoo model it changes: off, inception_v3's
# 9 Pads run as steps and the results stay torch's; on (the default order), no Pad step is left,
# while --kernels xnnpack (whose average excludes padding) keeps all 9.
add_test(NAME zoo_onednn_inception_v3_no_fold-pad-pool
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/zoo_check.sh $<TARGET_FILE:ec_fastc> ${EC_FAST_ZOO} inception_v3
          ${CMAKE_BINARY_DIR}/fast/onednn_inception_v3_no_fold-pad-pool --kernels onednn --no-pass fold-pad-pool)
add_test(NAME zoo_fold_pad_pool_inception_v3
  COMMAND sh -c "set -e; rm -rf \"$2\"; \"$0\" \"$1\" --targets host -o \"$2/default\" --name m >/dev/null; \
                 \"$0\" \"$1\" --targets host --kernels xnnpack -o \"$2/xnnpack\" --name m >/dev/null; \
                 d=$(grep -c \"(Pad):\" \"$2/default/host/m_p0.c\" || true); x=$(grep -c \"(Pad):\" \"$2/xnnpack/host/m_p0.c\" || true); \
                 echo \"Pad steps: default order $d (want 0), --kernels xnnpack $x (want 9)\"; [ \"$d\" = 0 ] && [ \"$x\" = 9 ]"
          $<TARGET_FILE:edgecc> ${EC_FAST_ZOO}/inception_v3.onnx ${CMAKE_BINARY_DIR}/fast/fold_pad_pool)
set_tests_properties(zoo_onednn_inception_v3_no_fold-pad-pool zoo_fold_pad_pool_inception_v3
                     PROPERTIES LABELS zoo TIMEOUT 900 FIXTURES_REQUIRED ec_zoo)

# The plain-C transformer and recurrent kernels compile to vector code with the x86-64 target's flags, in each
# version they are built for (tests/fast/vectorized.py; skipped without GCC on x86-64).
add_test(NAME fast_vectorized
  COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/vectorized.py ${CMAKE_SOURCE_DIR} ${CMAKE_C_COMPILER})
set_tests_properties(fast_vectorized PROPERTIES LABELS "unit;fast" TIMEOUT 120 SKIP_RETURN_CODE 77)
