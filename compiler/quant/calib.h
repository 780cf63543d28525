/* calib.h — calibration for int8 quantization (DESIGN 2.4, Quantize): activation ranges from
 * running a calibration set in-process with the reference kernels, and the int8 parameters they
 * give (per-tensor asymmetric activations, per-channel symmetric Conv/Gemm/MatMul weights).
 *
 * Use: ec_calib_list (the samples of a folder, in name order, at most max of them) ->
 * ec_calib_run (runs them over an inferred graph, after passes and before lowering) ->
 * ec_calib_json (the ranges file of `edgecc calibrate`) -> ec_calib_result_free/ec_calib_set_free.
 * Nothing here prints: progress goes through a callback, errors into an ec_diag.
 *
 * The methods, the histograms and the hash are defined in docs/quantization.md; the definitions
 * there are what tests/quant/ reimplements in numpy, so a change here changes that page too. */
#ifndef EC_CALIB_H
#define EC_CALIB_H

#include <stdbool.h>
#include <stdint.h>

#include "ir.h"

typedef enum ec_calib_method {
  EC_CALIB_MINMAX = 0,  /* the observed minimum and maximum */
  EC_CALIB_PERCENTILE,  /* 99.999th percentile of |x|, 2048-bin histogram, symmetric */
  EC_CALIB_ENTROPY      /* the KL-divergence threshold, 128 levels over a 2048-bin histogram */
} ec_calib_method;

#define EC_CALIB_BINS 2048         /* histogram bins (percentile: over [0, A]; entropy: [-A, A]) */
#define EC_CALIB_LEVELS 128        /* entropy: quantized bins a candidate range is merged into */
#define EC_CALIB_PCT_NUM 99999     /* percentile 99.999% = PCT_NUM / PCT_DEN, exactly */
#define EC_CALIB_PCT_DEN 100000
#define EC_CALIB_DEFAULT_MAX 64    /* --calib-max */

/* "minmax" / "percentile" / "entropy"; false for anything else. */
bool ec_calib_method_parse(const char *s, ec_calib_method *m);
const char *ec_calib_method_name(ec_calib_method m);

/* One sample: a .pb file per graph input, in graph-input order (frozen inputs excluded). */
typedef struct ec_calib_sample {
  char *name;     /* its entry in DIR: "input_007.pb", or a subfolder "set_3" */
  char **rel;     /* per input, the file's path relative to DIR ("set_3/input_1.pb") */
  char **path;    /* per input, DIR joined with rel */
} ec_calib_sample;

typedef struct ec_calib_set {
  ec_calib_sample *samples; /* the ones taken: the first max in name order */
  int n_samples;
  int n_found;              /* samples DIR holds */
  int n_inputs;             /* files per sample */
} ec_calib_set;

/* Lists the samples of dir for a graph with n_inputs inputs. A model with one input takes every
 * `*.pb` file directly in dir; a model with several (or one, when dir holds no .pb file) takes
 * every subfolder holding `input_0.pb`, whose `input_K.pb` feeds graph input K, as the ONNX test
 * data sets are laid out. Entries are sorted by name (bytes, strcmp), hidden ones skipped, and
 * the first max taken. A folder that does not exist or holds no sample is EC_ERR_USAGE; a
 * subfolder missing an input_K.pb is EC_ERR_MODEL naming it. */
ec_status ec_calib_list(const char *dir, int n_inputs, int max, ec_calib_set *set, ec_diag *d);
void ec_calib_set_free(ec_calib_set *set);

/* Called after each sample of each pass: pass is 1-based, of n_passes (2 for the histogram
 * methods: ranges first, then histograms over them). */
typedef void (*ec_calib_progress_fn)(void *ctx, int pass, int n_passes, int done, int total);

typedef struct ec_calib_opts {
  ec_calib_method method;
  int max_samples;               /* recorded in the hash (the set was listed with it) */
  ec_calib_progress_fn progress; /* may be NULL */
  void *progress_ctx;
} ec_calib_opts;

/* A float activation tensor (a graph input or a node output): its range over the set. */
typedef struct ec_calib_range {
  int tensor;          /* index into the graph's tensors */
  int64_t count;       /* values seen (elements x samples) */
  float min, max;      /* observed */
  float threshold;     /* minmax: max(|min|, |max|); percentile, entropy: the method's t */
  float lo, hi;        /* the range chosen: [-t, t] clipped to [min, max] (minmax: [min, max]) */
  float scale;         /* int8 asymmetric: lo, hi widened to hold 0, over 255 steps */
  int32_t zero_point;  /* in [-128, 127] */
} ec_calib_range;

/* A constant weight of Conv (axis 0), Gemm (B; axis 0 with transB, else 1) or MatMul (B; its
 * last axis): per output channel, symmetric int8 in [-127, 127]. */
typedef struct ec_calib_weight {
  int tensor;
  int axis;            /* -1 for a 1-D MatMul B (one channel) */
  int channels;
  float *absmax;       /* max |w| per channel */
  float *scale;        /* absmax / 127 (1 for an all-zero channel) */
  char *nodes;         /* names of the nodes using it with this axis, NUL-separated */
  int n_nodes;
} ec_calib_weight;

typedef struct ec_calib_result {
  ec_calib_method method;
  int max_samples, n_samples;
  uint8_t sha256[32];       /* of the set: see docs/quantization.md, "The set's hash" */
  ec_calib_range *ranges;   /* sorted by tensor name */
  int n_ranges;
  ec_calib_weight *weights; /* sorted by tensor name, then axis */
  int n_weights;
} ec_calib_result;

/* Runs every sample of set over g (inferred, after passes, before lowering) with the reference
 * kernels and fills r. A sample whose file does not parse or does not match its input (dtype,
 * shape) is EC_ERR_MODEL naming the file; so is a non-finite value in an activation or weight. */
ec_status ec_calib_run(ec_graph *g, const ec_calib_set *set, const ec_calib_opts *o,
                       ec_calib_result *r, ec_diag *d);
void ec_calib_result_free(ec_calib_result *r);

/* The ranges file: deterministic JSON, sorted by tensor name, every float as %.9g and its bits. */
void ec_calib_json(const ec_graph *g, const ec_calib_result *r, ec_buf *b);

/* ---- the pure pieces, exposed for tests ------------------------------------------------------ */

/* Bin of x in the percentile histogram of |x| over [0, amax] (amax > 0). */
int ec_calib_abs_bin(float x, double amax);
/* Bin of x in the entropy histogram over [-amax, amax] (amax > 0). */
int ec_calib_signed_bin(float x, double amax);
/* Threshold of the percentile method from the |x| histogram over [0, amax]. */
double ec_calib_percentile(const uint64_t *hist, double amax);
/* Threshold of the entropy method from the signed histogram over [-amax, amax]. */
double ec_calib_entropy(const uint64_t *hist, double amax);
/* int8 asymmetric parameters of the range [lo, hi] (widened to hold 0). */
void ec_calib_qparams(float lo, float hi, float *scale, int32_t *zero_point);

#endif
