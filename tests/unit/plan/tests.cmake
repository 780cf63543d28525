# Planner unit tests (bridges, partition DP). Included from tests/unit/tests.cmake; paths are
# relative to this file so it works from any including directory.
find_path(EC_CMOCKA_INCLUDE cmocka.h)
find_library(EC_CMOCKA_LIB cmocka)
if(NOT EC_CMOCKA_INCLUDE OR NOT EC_CMOCKA_LIB)
  message(WARNING "planner unit tests need cmocka: install the Debian package libcmocka-dev")
  return()
endif()

set(EC_PLAN_TEST_DIR ${CMAKE_CURRENT_LIST_DIR})
add_library(ec_plan_testlib STATIC ${EC_PLAN_TEST_DIR}/plan_testlib.c)
target_include_directories(ec_plan_testlib PUBLIC ${EC_PLAN_TEST_DIR})
target_link_libraries(ec_plan_testlib PUBLIC ec_compiler)

foreach(t test_bridges test_partition test_bridges_models test_cluster test_tree)
  add_executable(plan_${t} ${EC_PLAN_TEST_DIR}/${t}.c)
  target_include_directories(plan_${t} PRIVATE ${EC_CMOCKA_INCLUDE})
  target_link_libraries(plan_${t} PRIVATE ec_plan_testlib ${EC_CMOCKA_LIB} m)
endforeach()

add_test(NAME unit_plan_bridges COMMAND plan_test_bridges)
add_test(NAME unit_plan_partition COMMAND plan_test_partition)
add_test(NAME unit_plan_cluster COMMAND plan_test_cluster)
add_test(NAME unit_plan_tree COMMAND plan_test_tree)
set_tests_properties(unit_plan_bridges unit_plan_partition unit_plan_cluster unit_plan_tree PROPERTIES LABELS unit
                     TIMEOUT 120)

add_test(NAME unit_plan_bridges_digits
         COMMAND plan_test_bridges_models ${CMAKE_SOURCE_DIR}/examples/digits/digits.onnx)
set_tests_properties(unit_plan_bridges_digits PROPERTIES LABELS unit TIMEOUT 60)

# The 8 zoo models, from the cache the fixture zoo_export fills (tests/models/tests.cmake).
foreach(m squeezenet1_1 mobilenet_v2 resnet18 resnet50 googlenet inception_v3 densenet121
          shufflenet_v2_x1_0)
  add_test(NAME zoo_plan_bridges_${m}
           COMMAND sh ${EC_PLAN_TEST_DIR}/run_zoo_bridges.sh $<TARGET_FILE:plan_test_bridges_models>
                   ${EC_ZOO_CACHE} ${m})
  set_tests_properties(zoo_plan_bridges_${m} PROPERTIES LABELS zoo TIMEOUT 300)
endforeach()
