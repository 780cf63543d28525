# tests/cli — edgecc's command line: help, version, usage errors, inspect and eval on the bundled
# digits example (label `unit`).
add_test(NAME unit_cli
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/cli/cli_test.py --edgecc $<TARGET_FILE:edgecc>
                 --root ${CMAKE_SOURCE_DIR} --work ${CMAKE_BINARY_DIR}/cli)
set_tests_properties(unit_cli PROPERTIES LABELS unit TIMEOUT 120)

# --input-shape NAME=1x576: a model declared ['?', '?'] compiles and matches edgecc eval and numpy;
# missing pins show the flag, conflicts and bad syntax are errors; inspect reports dynamic dims.
add_test(NAME unit_input_shape
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/cli/input_shape_test.py $<TARGET_FILE:edgecc>
                 ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR} ${CMAKE_BINARY_DIR}/input-shape)
set_tests_properties(unit_input_shape PROPERTIES LABELS unit TIMEOUT 300)

# An installed edgecc works from any directory with the repository out of reach.
add_test(NAME unit_install
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/install_test.sh ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR})
set_tests_properties(unit_install PROPERTIES LABELS unit TIMEOUT 300)

# --no-pass reaches compile (graph passes and lowering steps).
add_test(NAME unit_no_pass_compile
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/cli/no_pass_compile.py $<TARGET_FILE:edgecc>
                 ${CMAKE_BINARY_DIR}/no-pass-compile)
set_tests_properties(unit_no_pass_compile PROPERTIES LABELS unit TIMEOUT 120)

# The digits example through the fast kernels.
add_test(NAME unit_digits_xnnpack
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/digits_fast.sh $<TARGET_FILE:edgecc> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_BINARY_DIR}/digits-xnnpack)
set_tests_properties(unit_digits_xnnpack PROPERTIES LABELS unit TIMEOUT 300)
# ... and through oneDNN (--kernels onednn): its CMakeLists, dist/ and 1 and 2 threads.
add_test(NAME unit_digits_onednn
         COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/cli/digits_onednn.sh $<TARGET_FILE:edgecc> ${CMAKE_SOURCE_DIR}
                 ${CMAKE_BINARY_DIR}/digits-onednn)
set_tests_properties(unit_digits_onednn PROPERTIES LABELS unit TIMEOUT 300)

# A cut right after an in-place Concat (fast kernels): the Concat copies again, outputs bit-identical.
add_test(NAME unit_concat_cut
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/concat_cut.sh $<TARGET_FILE:edgecc> ${EC_PYTHON}
                 ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/concat-cut)
set_tests_properties(unit_concat_cut PROPERTIES LABELS unit TIMEOUT 300)

# A tensor crossing a cut leaves its partition in ONNX's layout (NCHW), whatever lowering chose inside.
add_test(NAME unit_cut_layout
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/cut_layout.sh $<TARGET_FILE:edgecc> ${EC_PYTHON}
                 ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/cut-layout)
set_tests_properties(unit_cut_layout PROPERTIES LABELS unit TIMEOUT 300)

# Devices with different kernel libraries: a description without XNNPACK gets the reference kernels
# for its partition only (digits: label unit; googlenet fast -> ref -> fast against torch: label zoo).
add_test(NAME unit_mixed_kernels
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/mixed_kernels.sh $<TARGET_FILE:edgecc> ${EC_PYTHON}
                 ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/mixed-kernels-digits
                 ${CMAKE_SOURCE_DIR}/examples/digits/digits.onnx ${CMAKE_SOURCE_DIR}/examples/digits/samples/input_0.pb
                 eval 1e-5 a=host,b=plainbox --split-at /pool_1/MaxPool_output_0)
set_tests_properties(unit_mixed_kernels PROPERTIES LABELS unit TIMEOUT 300)
add_test(NAME zoo_mixed_kernels_googlenet
         COMMAND sh -c "exec sh \"$1\" \"$2\" \"$3\" \"$4\" \"$6\" \"$5/googlenet.onnx\" \"$5/googlenet_input_0.pb\" \
                        \"$5/googlenet_output_0.pb\" 1e-4 a=host,b=plainbox,c=host --partitions 3 --objective throughput"
                 sh ${CMAKE_CURRENT_SOURCE_DIR}/cli/mixed_kernels.sh $<TARGET_FILE:edgecc> ${EC_PYTHON}
                 ${CMAKE_SOURCE_DIR} ${CMAKE_BINARY_DIR}/zoo-cache ${CMAKE_BINARY_DIR}/mixed-kernels-googlenet)
set_tests_properties(zoo_mixed_kernels_googlenet PROPERTIES LABELS zoo TIMEOUT 900 FIXTURES_REQUIRED ec_zoo)

# Every subcommand's --help (and edgecc-client's, a generated program's) names exactly the flags
# the command accepts, found by running it; every flag README.md and docs/ show is accepted there.
add_test(NAME unit_help_flags
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/cli/help_flags.py --edgecc $<TARGET_FILE:edgecc>
                 --client $<TARGET_FILE:edgecc-client> --root ${CMAKE_SOURCE_DIR} --work ${CMAKE_BINARY_DIR}/help-flags)
set_tests_properties(unit_help_flags PROPERTIES LABELS unit TIMEOUT 300)
