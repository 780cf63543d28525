/* fashion_eval.c — test driver: the accuracy of the compiled Fashion-MNIST example over a whole IDX
 * test set, through the partition's API (fashion_p0.h) in one process instead of 10,000 runs.
 *
 * usage: fashion_eval WEIGHTS IMAGES LABELS LOGITS   (IMAGES, LABELS: gunzipped IDX files)
 * prints "correct N total M" and writes every image's logits to LOGITS (raw float32, image by
 * image), so that the caller can hold this driver's inputs to torch's through the logits of
 * images torch also ran; exit 0 ok, 1 bad data or a failed run, 2 usage.
 * Each pixel becomes (float)p / 255.0f, the normalisation examples/fashion/fashion.json states
 * and train.py applies, so the compiled program sees exactly the tensors torch saw. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecrt_platform.h"
#include "fashion_p0.h"

enum { ROWS = 28, COLS = 28, PIXELS = ROWS * COLS, CLASSES = 10 };

static unsigned long be32(const unsigned char *p) {
  return ((unsigned long)p[0] << 24) | ((unsigned long)p[1] << 16) | ((unsigned long)p[2] << 8) | p[3];
}

/* Checks an IDX header (unsigned bytes, ndim dims) and returns the item count, or 0 on error;
 * the dims after the first must be `inner` (NULL: none). */
static unsigned long idx_count(const char *path, const unsigned char *buf, size_t len, int ndim,
                               const unsigned long *inner) {
  size_t header = 4 + 4 * (size_t)ndim, items, each = 1;
  int i;
  if (len < header || buf[0] != 0 || buf[1] != 0 || buf[2] != 0x08 || buf[3] != ndim) {
    fprintf(stderr, "fashion_eval: %s: not an unsigned-byte IDX file of %d dims\n", path, ndim);
    return 0;
  }
  for (i = 1; i < ndim; i++) {
    if (be32(buf + 4 + 4 * i) != inner[i - 1]) {
      fprintf(stderr, "fashion_eval: %s: dim %d is %lu, expected %lu\n", path, i, be32(buf + 4 + 4 * i),
              inner[i - 1]);
      return 0;
    }
    each *= inner[i - 1];
  }
  items = be32(buf + 4);
  if (items == 0 || len - header != items * each) {
    fprintf(stderr, "fashion_eval: %s: %lu bytes of data for %lu items\n", path,
            (unsigned long)(len - header), (unsigned long)items);
    return 0;
  }
  return items;
}

int main(int argc, char **argv) {
  static const unsigned long image_dims[2] = {ROWS, COLS};
  unsigned char *weights, *images, *labels;
  size_t weights_len, images_len, labels_len;
  unsigned long n, i, correct = 0;
  fashion_p0 *ctx;
  void *arena;
  float *input, logits[CLASSES];
  ecrt_status st;
  FILE *logits_file;

  if (argc != 5) {
    fprintf(stderr, "usage: fashion_eval WEIGHTS IMAGES LABELS LOGITS\n");
    return 2;
  }
  if (ecrt_read_file(argv[1], &weights, &weights_len) != ECRT_OK ||
      ecrt_read_file(argv[2], &images, &images_len) != ECRT_OK ||
      ecrt_read_file(argv[3], &labels, &labels_len) != ECRT_OK) {
    fprintf(stderr, "fashion_eval: cannot read an input file\n");
    return 1;
  }
  n = idx_count(argv[2], images, images_len, 3, image_dims);
  if (n == 0 || idx_count(argv[3], labels, labels_len, 1, NULL) != n) {
    if (n != 0) fprintf(stderr, "fashion_eval: %s and %s differ in count\n", argv[2], argv[3]);
    return 1;
  }
  ctx = ecrt_alloc(sizeof *ctx, ECRT_ALIGN);
  arena = ecrt_alloc(FASHION_P0_ARENA_BYTES, ECRT_ALIGN);
  /* Inputs need ECRT_SLACK readable bytes past their end. */
  input = ecrt_alloc(PIXELS * sizeof(float) + ECRT_SLACK, ECRT_ALIGN);
  if (!ctx || !arena || !input) {
    fprintf(stderr, "fashion_eval: out of memory\n");
    return 1;
  }
  memset(input, 0, PIXELS * sizeof(float) + ECRT_SLACK);
  logits_file = fopen(argv[4], "wb");
  if (!logits_file) {
    fprintf(stderr, "fashion_eval: cannot write %s\n", argv[4]);
    return 1;
  }
  st = fashion_p0_init(ctx, weights, weights_len, arena, FASHION_P0_ARENA_BYTES, 1);
  if (st != ECRT_OK) {
    fprintf(stderr, "fashion_eval: init: %s\n", ecrt_status_str(st));
    return 1;
  }
  for (i = 0; i < n; i++) {
    const unsigned char *px = images + 16 + i * PIXELS;
    unsigned label = labels[8 + i], best = 0, k;
    for (k = 0; k < PIXELS; k++) input[k] = (float)px[k] / 255.0f;
    st = fashion_p0_run(ctx, input, logits);
    if (st != ECRT_OK) {
      fprintf(stderr, "fashion_eval: image %lu: %s\n", i, ecrt_status_str(st));
      return 1;
    }
    if (fwrite(logits, sizeof logits, 1, logits_file) != 1) {
      fprintf(stderr, "fashion_eval: cannot write %s\n", argv[4]);
      return 1;
    }
    /* The first of equal maxima, as torch's argmax picks. */
    for (k = 1; k < CLASSES; k++)
      if (logits[k] > logits[best]) best = k;
    if (label >= CLASSES) {
      fprintf(stderr, "fashion_eval: %s: label %u of item %lu out of range\n", argv[3], label, i);
      return 1;
    }
    correct += best == label;
  }
  if (fclose(logits_file) != 0) {
    fprintf(stderr, "fashion_eval: cannot write %s\n", argv[4]);
    return 1;
  }
  printf("correct %lu total %lu\n", correct, n);
  return 0;
}
