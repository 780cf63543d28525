# tests/sanitize — generated programs under ASan, UBSan and LeakSanitizer (test_sanitize.py): the
# device folder built by its own CMakeLists.txt with -fsanitize=address,undefined
# -fno-sanitize-recover=all, outputs compared with torch, any report fails. CI (labels zoo, dist,
# unit; all also `sanitize`): three zoo models with the fast kernels and one with --kernels ref,
# each also initialised, run and released twice in one process (reinit.c); mobilenet_v2 split in
# two served partitions; the init error messages (xnn_fail.c makes one XNNPACK call fail). The
# other zoo models, both kernel sets, and a 3-partition chain over tcp are label `slow`.
# Zoo models come from the zoo tests' cache (EC_ZOO_CACHE, tests/models/tests.cmake).
find_path(EC_SAN_XNNPACK_H xnnpack.h)
add_library(ec_xnn_fail SHARED ${CMAKE_CURRENT_SOURCE_DIR}/sanitize/xnn_fail.c)
target_include_directories(ec_xnn_fail PRIVATE ${EC_SAN_XNNPACK_H})
target_link_libraries(ec_xnn_fail PRIVATE ${CMAKE_DL_LIBS})

set(EC_SAN_ARGS --edgecc $<TARGET_FILE:edgecc> --client $<TARGET_FILE:edgecc-client>
    --src ${CMAKE_SOURCE_DIR} --cache ${EC_ZOO_CACHE})
set(EC_SAN_CI squeezenet1_1:xnnpack mobilenet_v2:xnnpack googlenet:xnnpack squeezenet1_1:ref)
foreach(model ${EC_ZOO_MODELS})
  foreach(kernels xnnpack ref)
    list(FIND EC_SAN_CI ${model}:${kernels} ci)
    if(ci LESS 0)
      set(labels "slow;sanitize")
    else()
      set(labels "zoo;sanitize")
    endif()
    add_test(NAME sanitize_${model}_${kernels}
             COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/sanitize/test_sanitize.py program ${model}
                     --kernels ${kernels} ${EC_SAN_ARGS}
                     --work ${CMAKE_BINARY_DIR}/sanitize/${model}_${kernels})
    set_tests_properties(sanitize_${model}_${kernels} PROPERTIES LABELS "${labels}" TIMEOUT 1800)
  endforeach()
endforeach()

add_test(NAME sanitize_chain_mobilenet_v2_unix
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/sanitize/test_sanitize.py chain mobilenet_v2
                 --parts 2 --transport unix ${EC_SAN_ARGS} --work ${CMAKE_BINARY_DIR}/sanitize/chain_mobilenet_v2_unix)
set_tests_properties(sanitize_chain_mobilenet_v2_unix PROPERTIES LABELS "dist;sanitize" TIMEOUT 1800)
add_test(NAME sanitize_chain_googlenet_tcp
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/sanitize/test_sanitize.py chain googlenet
                 --parts 3 --transport tcp ${EC_SAN_ARGS} --work ${CMAKE_BINARY_DIR}/sanitize/chain_googlenet_tcp)
set_tests_properties(sanitize_chain_googlenet_tcp PROPERTIES LABELS "slow;sanitize" TIMEOUT 2400)

add_test(NAME sanitize_init_errors
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/sanitize/test_sanitize.py init-errors
                 --xnn-fail $<TARGET_FILE:ec_xnn_fail> ${EC_SAN_ARGS} --work ${CMAKE_BINARY_DIR}/sanitize/init_errors)
set_tests_properties(sanitize_init_errors PROPERTIES LABELS "unit;sanitize" TIMEOUT 600)
