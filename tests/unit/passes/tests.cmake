# Graph-pass tests (label unit; the zoo models under zoo): every pass must leave results
# unchanged. pass_check runs each model with no pass, each pass alone, all passes and all but
# one, and compares the outputs (bit-exact, or 1e-5 of the largest value once bn-fold is on).
# Include this file from tests/unit/tests.cmake; paths are relative to it.
set(EC_PASS_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
set(EC_PASS_MODELS ${CMAKE_BINARY_DIR}/passes/models)
set(EC_NODE_TESTS /usr/share/libonnx-testdata/data/node)

add_executable(pass_check ${EC_PASS_TEST_DIR}/pass_check.c)
target_link_libraries(pass_check PRIVATE ec_compiler m)

add_test(NAME unit_passes_make_models
         COMMAND ${EC_PYTHON} ${EC_PASS_TEST_DIR}/make_models.py ${EC_PASS_MODELS})
set_tests_properties(unit_passes_make_models PROPERTIES LABELS unit TIMEOUT 300
                     FIXTURES_SETUP ec_pass_models)

# name: expectations with all passes on (rewrites per pass, ops left), and with one pass off
# (const_fold: the float work on initializers stays as nodes, the shape subgraph is folded)
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
    "dead_code: --expect dce=3 --expect-op Conv=0"
    "const_fold: --expect const-fold=9 --expect-op Mul=0 --expect-op Transpose=0 --expect-op Neg=0 --expect-op-off const-fold:Mul=1 --expect-op-off const-fold:Transpose=1 --expect-op-off const-fold:Neg=1 --expect-op-off const-fold:Shape=0 --expect-op-off const-fold:Cast=0 --expect-op-off const-fold:Concat=0")
foreach(case IN LISTS EC_PASS_CASES)
  string(REGEX MATCH "^[^:]+" name "${case}")
  string(REGEX REPLACE "^[^:]+: " "" extra "${case}")
  separate_arguments(extra UNIX_COMMAND "${extra}")
  add_test(NAME unit_passes_${name}
           COMMAND pass_check ${EC_PASS_MODELS}/${name}.onnx ${extra})
  set_tests_properties(unit_passes_${name} PROPERTIES LABELS unit TIMEOUT 120
                       FIXTURES_REQUIRED ec_pass_models)
endforeach()

# The fusion passes, on torch exports of the blocks and on hand-made variants and near-misses
# (make_models.py): every configuration must also match the outputs torch (or numpy, in float64)
# computed, within 1e-5 of the largest value. name:inputs:outputs: expectations. (ln_nomatch's
# last block has an activation as gamma: the LayerNorm before it fuses, the Mul stays. attn_torch:
# of its 9 Transposes, 6 fold into 4 StridedMatMuls, one of them, MultiheadAttention's Q, only once
# transpose-opt has moved it below Q's scaling; the 3 left feed Gathers or a Linear layer.)
set(EC_PASS_FUSION_CASES
    "pow_torch:1:1: --expect pow-square=2 --expect-op Pow=1"
    "pow_hand:1:3: --expect pow-square=3 --expect-op Pow=4 --expect-op Sqrt=1"
    "ln_torch:1:1: --expect layernorm=2 --expect-op ReduceMean=0 --expect-op LayerNormalization=2 --expect-op-off layernorm:ReduceMean=4"
    "ln_variants:1:3: --expect layernorm=3 --expect-op ReduceMean=0 --expect-op Reciprocal=0"
    "ln_nomatch:2:6: --expect layernorm=1 --expect-op ReduceMean=8 --expect-op LayerNormalization=1"
    "gelu_torch:1:1: --expect gelu=2 --expect-op Gelu=2 --expect-op Erf=0 --expect-op Tanh=0 --expect-op-off gelu:Erf=1"
    "gelu_variants:1:5: --expect gelu=5 --expect-op Gelu=5 --expect-op Mul=0 --expect-op Pow=0"
    "gelu_nomatch:2:5: --expect gelu=0 --expect-op Erf=4"
    "linear_torch:1:1: --expect matmul-bias=2 --expect-op Gemm=2 --expect-op MatMul=1 --expect-op Add=0 --expect-op-off matmul-bias:Add=2"
    "attn_torch:1:1: --expect transpose-opt=1 --expect matmul-transpose=4 --expect-op Transpose=3 --expect-op StridedMatMul=4 --expect-op-off matmul-transpose:Transpose=9 --expect-op-off transpose-opt:Transpose=4")
foreach(case IN LISTS EC_PASS_FUSION_CASES)
  string(REGEX MATCH "^[^:]+:[0-9]+:[0-9]+" head "${case}")
  string(REPLACE ":" ";" head "${head}")
  list(GET head 0 name)
  list(GET head 1 nin)
  list(GET head 2 nout)
  string(REGEX REPLACE "^[^:]+:[0-9]+:[0-9]+: " "" extra "${case}")
  separate_arguments(extra UNIX_COMMAND "${extra}")
  set(files "")
  math(EXPR last "${nin} - 1")
  foreach(i RANGE 0 ${last})
    list(APPEND files --input ${EC_PASS_MODELS}/${name}_input_${i}.pb)
  endforeach()
  math(EXPR last "${nout} - 1")
  foreach(i RANGE 0 ${last})
    list(APPEND files --want ${EC_PASS_MODELS}/${name}_output_${i}.pb)
  endforeach()
  add_test(NAME unit_passes_${name} COMMAND pass_check ${EC_PASS_MODELS}/${name}.onnx ${files} ${extra})
  set_tests_properties(unit_passes_${name} PROPERTIES LABELS unit TIMEOUT 120
                       FIXTURES_REQUIRED ec_pass_models)
endforeach()

# The same through the command line (`edgecc eval --no-pass NAME`).
add_test(NAME unit_passes_cli_no_pass
         COMMAND ${EC_PYTHON} ${EC_PASS_TEST_DIR}/cli_no_pass.py --edgecc $<TARGET_FILE:edgecc>
                 --work ${CMAKE_BINARY_DIR}/passes/cli
                 ${EC_PASS_MODELS}/conv_bn_relu.onnx ${EC_PASS_MODELS}/linear_bn1d.onnx
                 ${EC_PASS_MODELS}/identity_outputs.onnx ${EC_PASS_MODELS}/dead_code.onnx
                 ${EC_PASS_MODELS}/const_fold.onnx)
set_tests_properties(unit_passes_cli_no_pass PROPERTIES LABELS unit TIMEOUT 300
                     FIXTURES_REQUIRED ec_pass_models)

# The generated code of a fused op names the ONNX nodes it replaced, with both kernel sets.
add_test(NAME unit_passes_fused_comment
         COMMAND ${EC_PYTHON} ${EC_PASS_TEST_DIR}/fused_comment.py --edgecc $<TARGET_FILE:edgecc>
                 --work ${CMAKE_BINARY_DIR}/passes/fused_comment
                 ${EC_PASS_MODELS}/ln_torch.onnx:LayerNormalization=2 ${EC_PASS_MODELS}/gelu_torch.onnx:Gelu=2
                 ${EC_PASS_MODELS}/linear_torch.onnx:Gemm=2 ${EC_PASS_MODELS}/attn_torch.onnx:StridedMatMul=4)
set_tests_properties(unit_passes_fused_comment PROPERTIES LABELS unit TIMEOUT 120
                     FIXTURES_REQUIRED ec_pass_models)

# ONNX node tests on the ops the passes rewrite, with their own inputs.
foreach(t test_batchnorm_epsilon test_batchnorm_example test_identity test_dropout_default
          test_dropout_default_ratio test_dropout_default_mask test_dropout_default_mask_ratio
          test_dropout_default_old test_dropout_random_old test_conv_with_strides_padding
          test_gemm_default_vector_bias)
  if(EXISTS ${EC_NODE_TESTS}/${t}/model.onnx)
    add_test(NAME unit_passes_node_${t}
             COMMAND pass_check ${EC_NODE_TESTS}/${t}/model.onnx
                     --data-dir ${EC_NODE_TESTS}/${t}/test_data_set_0)
    set_tests_properties(unit_passes_node_${t} PROPERTIES LABELS unit TIMEOUT 60)
  endif()
endforeach()

# Zoo models, exported on first use into the zoo cache that tests/models shares: as exported
# (torch already folded the BatchNorms that follow a Conv) all passes against none; then with the
# BatchNorms kept, every configuration, and bn-fold must fold them all (densenet121's follow a
# Concat and stay). Folding rounds differently from running the BatchNorm, and over many folded
# layers that adds up: 1.6e-5 of the largest output on googlenet, 4.8e-5 on inception_v3, where
# torch's own conv-bn fusion moves the output by 4.0e-5 and the unfused float32 model is 2.8e-5
# from float64. These use 1e-4; a folding bug (a wrong channel, a lost bias) costs orders more.
# The big three are also `slow`.
set(EC_PASS_ZOO
    "squeezenet1_1:-" "mobilenet_v2:52" "resnet18:20" "googlenet:57" "shufflenet_v2_x1_0:56"
    "resnet50:53" "inception_v3:94" "densenet121:59")
foreach(entry IN LISTS EC_PASS_ZOO)
  string(REPLACE ":" ";" entry "${entry}")
  list(GET entry 0 m)
  list(GET entry 1 folds)
  set(labels zoo)
  if(m MATCHES "^(resnet50|inception_v3|densenet121)$")
    set(labels "zoo;slow")
  endif()
  add_test(NAME zoo_passes_${m}
           COMMAND ${EC_PYTHON} ${EC_PASS_TEST_DIR}/run_zoo.py --pass-check $<TARGET_FILE:pass_check>
                   --cache ${EC_ZOO_CACHE} ${m} --quick)
  set_tests_properties(zoo_passes_${m} PROPERTIES
                       LABELS "${labels}" TIMEOUT 1800)
  if(NOT folds STREQUAL "-") # squeezenet has no BatchNorm
    add_test(NAME zoo_passes_bn_${m}
             COMMAND ${EC_PYTHON} ${EC_PASS_TEST_DIR}/run_zoo.py --pass-check $<TARGET_FILE:pass_check>
                     --cache ${EC_ZOO_CACHE} --bn ${m} --expect bn-fold=${folds} --rtol 1e-4)
    set_tests_properties(zoo_passes_bn_${m} PROPERTIES
                         LABELS "${labels}" TIMEOUT 1800)
  endif()
endforeach()
