# tests/fast — the fast kernels (XNNPACK, OpenBLAS) and the lowering: fastc compiles a model
# through ec_lower for --kernels xnnpack; tests build the generated folders and compare outputs.
add_executable(ec_fastc ${CMAKE_CURRENT_LIST_DIR}/fastc.c)
target_link_libraries(ec_fastc PRIVATE ec_compiler)
