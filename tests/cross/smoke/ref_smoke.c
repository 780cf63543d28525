/* ref_smoke.c — a program like a `--kernels ref` folder's: C99, libc and libm only. */
#include <math.h>
#include <stdio.h>

int main(void) {
  double s = 0;
  for (int i = 1; i <= 1000; i++) s += expf((float)i / -300.0f) * sqrtf((float)i);
  printf("ref %.9g\n", s);
  return 0;
}
