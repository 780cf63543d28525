# tests/merge — several models in one compile (issue 15, compiler/merge). merge_models.py exports
# seeded head-only variants of one backbone, one whose layer4 differs and an unrelated MobileNetV2;
# merge_test.py checks each model's output in the merged program bit for bit against its own
# program (both kernel sets), its own program against torch, the shared ranges against the ONNX
# files compared node by node, the weights saved, and the usage errors.
add_test(NAME unit_merge_cnn
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/merge/merge_test.py --edgecc $<TARGET_FILE:edgecc>
                 --build-dir ${CMAKE_BINARY_DIR} --work ${CMAKE_BINARY_DIR}/merge-cnn --usage)
set_tests_properties(unit_merge_cnn PROPERTIES LABELS unit TIMEOUT 900)
# The same with ResNet-50 (five exports of about 100 MB, each compiled and built twice): slow.
add_test(NAME slow_merge_resnet50
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/merge/merge_test.py --edgecc $<TARGET_FILE:edgecc>
                 --build-dir ${CMAKE_BINARY_DIR} --work ${CMAKE_BINARY_DIR}/merge-resnet50 --family resnet50)
set_tests_properties(slow_merge_resnet50 PROPERTIES LABELS slow TIMEOUT 3600)
# The merge stage on graphs built by hand (cmocka): weights whose hashes collide (ec_merge_opts's
# weak_hash) are told apart byte for byte, identical weights merge their node, a weight of nodes
# that cannot merge is stored once, each model keeps its own output node.
add_executable(test_merge ${CMAKE_CURRENT_SOURCE_DIR}/merge/test_merge.c)
target_include_directories(test_merge PRIVATE ${EC_CMOCKA_INCLUDE} ${CMAKE_CURRENT_SOURCE_DIR}/unit)
target_link_libraries(test_merge PRIVATE ec_compiler ${EC_CMOCKA_LIB})
add_test(NAME unit_merge COMMAND test_merge)
set_tests_properties(unit_merge PROPERTIES LABELS unit TIMEOUT 120)
# Approximate merging (--merge-budget 1 --calib): two copies of examples/fashion fine-tuned by torch
# at test time; the merged program against torch's hybrid, test-set accuracy within the budget.
add_test(NAME unit_merge_budget
         COMMAND ${EC_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/merge/merge_budget.py --edgecc $<TARGET_FILE:edgecc>
                 --build-dir ${CMAKE_BINARY_DIR} --src ${CMAKE_SOURCE_DIR} --work ${CMAKE_BINARY_DIR}/merge-budget)
set_tests_properties(unit_merge_budget PROPERTIES LABELS unit TIMEOUT 900
                     ENVIRONMENT "OPENBLAS_NUM_THREADS=1;OMP_NUM_THREADS=1")
