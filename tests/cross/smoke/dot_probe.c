/* dot_probe.c — runs one Armv8.2 dot-product instruction: fine on a Cortex-A76, SIGILL on a
 * Cortex-A72 (Pi 4). Proves the qemu runs catch code built for the wrong -mcpu. */
#include <arm_neon.h>
#include <stdio.h>

int main(int argc, char **argv) {
  (void)argv;
  int8x16_t a = vdupq_n_s8((int8_t)(argc + 1)), b = vdupq_n_s8(3);
  int32x4_t acc = vdotq_s32(vdupq_n_s32(0), a, b);
  printf("sdot %d\n", vgetq_lane_s32(acc, 0));
  return 0;
}
