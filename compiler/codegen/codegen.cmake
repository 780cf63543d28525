# codegen.cmake — build pieces of code generation, included by the top-level CMakeLists.txt:
# the runtime library `ecrt` (generated code links it; the conformance runner too), and the
# sources of runtime/ and kernels/ embedded into edgecc so it works without the repository.

# ---- runtime: C99, what every generated device folder compiles ---------------------------------
file(GLOB EC_RUNTIME_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/runtime/*.c)
add_library(ecrt STATIC ${EC_RUNTIME_SOURCES})
target_include_directories(ecrt PUBLIC ${CMAKE_SOURCE_DIR}/runtime ${CMAKE_SOURCE_DIR}/kernels/ref)
set_target_properties(ecrt PROPERTIES C_STANDARD 99 C_EXTENSIONS OFF POSITION_INDEPENDENT_CODE ON)

# ---- embedded sources: every .c/.h under runtime/ and kernels/ ----------------------------------
add_executable(ec_embed ${CMAKE_SOURCE_DIR}/compiler/codegen/tools/embed.c)
file(GLOB_RECURSE EC_EMBED_ABS CONFIGURE_DEPENDS
  ${CMAKE_SOURCE_DIR}/runtime/*.c ${CMAKE_SOURCE_DIR}/runtime/*.h
  ${CMAKE_SOURCE_DIR}/kernels/*.c ${CMAKE_SOURCE_DIR}/kernels/*.h)
set(EC_EMBED_REL "")
foreach(f ${EC_EMBED_ABS})
  file(RELATIVE_PATH r ${CMAKE_SOURCE_DIR} ${f})
  list(APPEND EC_EMBED_REL ${r})
endforeach()
set(EC_EMBED_OUT ${CMAKE_BINARY_DIR}/generated/ec_embedded.c)
add_custom_command(
  OUTPUT ${EC_EMBED_OUT}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/generated
  COMMAND ec_embed ${EC_EMBED_OUT} ${CMAKE_SOURCE_DIR} ${EC_EMBED_REL}
  DEPENDS ec_embed ${EC_EMBED_ABS}
  COMMENT "Embedding runtime/ and kernels/ sources into edgecc")
# ${EC_EMBED_OUT} is a source of the codegen stage's library (CMakeLists.txt, EC_STAGE_codegen_EXTRA).
