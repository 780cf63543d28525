/* clang14_compat.h — forced into every file of the fuzz sub-build (-include): clang 14 rejects
 * __builtin_cpu_supports("sha") in compiler/ir/sha256.c, so the fuzz build hashes portably. */
#if defined(__clang__) && __clang_major__ < 16
#define __builtin_cpu_supports(feature) 0
#endif
