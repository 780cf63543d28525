# tests/tune — per-node kernel choice from tuning (docs/tuning.md): `edgecc tune` and `--tuning FILE`.
# tune_check: hand-made tuning files flip one node's kernel (plan.json, generated code, outputs equal
# to the reference kernels), determinism, and the usage errors. tune_tiny: the real tuning run on
# this machine, then compiled with the file. zoo_tune_squeezenet1_1: the same on a zoo model against
# torch. cross.tune.pi5: the tuning folder for a board cross-built and run under qemu.
set(EC_TUNE_DIR ${CMAKE_CURRENT_LIST_DIR})
add_test(NAME tune_check COMMAND sh ${EC_TUNE_DIR}/tune_check.sh $<TARGET_FILE:edgecc> ${CMAKE_BINARY_DIR}/tune/check)
set_tests_properties(tune_check PROPERTIES LABELS unit TIMEOUT 600)
add_test(NAME tune_tiny
  COMMAND sh -c "set -eu; rm -rf \"$2\"; mkdir -p \"$2\"; /usr/bin/python3 \"$3/../fast/tiny_model.py\" \"$2\"; \
                 \"$1\" eval \"$2/tiny.onnx\" --input \"$2/tiny_input_0.pb\" --output \"$2/want.pb\" --output \"$2/sum.pb\"; \
                 sh \"$3/tune_run.sh\" \"$1\" \"$2/run\" \"$2/tiny.onnx\" \"$2/tiny_input_0.pb\" \"$2/want.pb\" 3; rm -rf \"$2\""
          sh $<TARGET_FILE:edgecc> ${CMAKE_BINARY_DIR}/tune/tiny ${EC_TUNE_DIR})
set_tests_properties(tune_tiny PROPERTIES LABELS unit TIMEOUT 900)
add_test(NAME zoo_tune_squeezenet1_1
  COMMAND sh ${EC_TUNE_DIR}/tune_run.sh $<TARGET_FILE:edgecc> ${CMAKE_BINARY_DIR}/tune/squeezenet1_1
          ${EC_ZOO_CACHE}/squeezenet1_1.onnx ${EC_ZOO_CACHE}/squeezenet1_1_input_0.pb
          ${EC_ZOO_CACHE}/squeezenet1_1_output_0.pb 10)
set_tests_properties(zoo_tune_squeezenet1_1 PROPERTIES LABELS zoo TIMEOUT 1800)
add_test(NAME cross.tune.pi5
  COMMAND sh ${EC_TUNE_DIR}/tune_cross.sh $<TARGET_FILE:edgecc> ${CMAKE_BINARY_DIR}/tune/cross ${EC_CROSS_SYSROOT})
set_tests_properties(cross.tune.pi5 PROPERTIES LABELS cross TIMEOUT 1800 FIXTURES_REQUIRED ec_sysroot)
