# Graph-pass tests (label unit; the zoo models under zoo): every pass must leave results
# unchanged. pass_check runs each model with no pass, each pass alone, all passes and all but
# one, and compares the outputs (bit-exact, or 1e-5 of the largest value once bn-fold is on).
# Include this file from tests/unit/tests.cmake; paths are relative to it.
set(EC_PASS_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
set(EC_PASS_MODELS ${CMAKE_BINARY_DIR}/passes/models)
set(EC_NODE_TESTS /usr/share/libonnx-testdata/data/node)

add_executable(pass_check ${EC_PASS_TEST_DIR}/pass_check.c)
target_link_libraries(pass_check PRIVATE ec_compiler m)

add_test(NAME passes.make_models
         COMMAND ${EC_PYTHON} ${EC_PASS_TEST_DIR}/make_models.py ${EC_PASS_MODELS})
set_tests_properties(passes.make_models PROPERTIES LABELS unit TIMEOUT 300
                     FIXTURES_SETUP ec_pass_models)

# name: expectations with all passes on (rewrites per pass, ops left)
set(EC_PASS_CASES
    "conv_bn_relu: --expect bn-fold=2 --expect-op BatchNormalization=0"
    "residual: --expect bn-fold=5 --expect-op BatchNormalization=0"
    "linear_bn1d: --expect bn-fold=2 --expect-op BatchNormalization=0"
    "conv1d_bn: --expect bn-fold=1 --expect-op BatchNormalization=0"
    "identity_outputs: --expect identity=3 --expect-op Identity=2"
    "dropout: --expect identity=2 --expect-op Dropout=1"
    "dropout_old: --expect identity=1 --expect-op Dropout=0"
    "bn_shared: --expect bn-fold=2 --expect-op BatchNormalization=2 --expect-op Conv=3"
    "bn_matmul_gemm: --expect bn-fold=3 --expect-op BatchNormalization=0 --expect-op MatMul=0"
    "dead_code: --expect dce=3 --expect-op Conv=0")
foreach(case IN LISTS EC_PASS_CASES)
  string(REGEX MATCH "^[^:]+" name "${case}")
  string(REGEX REPLACE "^[^:]+: " "" extra "${case}")
  separate_arguments(extra UNIX_COMMAND "${extra}")
  add_test(NAME passes.${name}
           COMMAND pass_check ${EC_PASS_MODELS}/${name}.onnx ${extra})
  set_tests_properties(passes.${name} PROPERTIES LABELS unit TIMEOUT 120
                       FIXTURES_REQUIRED ec_pass_models)
endforeach()

# ONNX node tests on the ops the passes rewrite, with their own inputs.
foreach(t test_batchnorm_epsilon test_batchnorm_example test_identity test_dropout_default
          test_dropout_default_ratio test_dropout_default_mask test_dropout_default_mask_ratio
          test_dropout_default_old test_dropout_random_old test_conv_with_strides_padding
          test_gemm_default_vector_bias)
  if(EXISTS ${EC_NODE_TESTS}/${t}/model.onnx)
    add_test(NAME passes.node.${t}
             COMMAND pass_check ${EC_NODE_TESTS}/${t}/model.onnx
                     --data-dir ${EC_NODE_TESTS}/${t}/test_data_set_0)
    set_tests_properties(passes.node.${t} PROPERTIES LABELS unit TIMEOUT 60)
  endif()
endforeach()

# Zoo models (exported on first use, like the planner's zoo tests): all passes against none.
# densenet121 is the one zoo model whose BatchNormalizations torch leaves in the export.
set(EC_ZOO_DIR ${CMAKE_BINARY_DIR}/zoo CACHE PATH "where the zoo models are exported")
foreach(m squeezenet1_1 mobilenet_v2 resnet18 resnet50 googlenet inception_v3 densenet121
          shufflenet_v2_x1_0)
  add_test(NAME passes.zoo.${m}
           COMMAND sh -c "test -f ${EC_ZOO_DIR}/${m}.onnx || ${EC_PYTHON} ${CMAKE_SOURCE_DIR}/tests/models/export_zoo.py ${m} ${EC_ZOO_DIR} >/dev/null || exit 77; exec $<TARGET_FILE:pass_check> ${EC_ZOO_DIR}/${m}.onnx --quick --input ${EC_ZOO_DIR}/${m}_input_0.pb")
  set_tests_properties(passes.zoo.${m} PROPERTIES LABELS "zoo" TIMEOUT 900 SKIP_RETURN_CODE 77)
endforeach()
