/* cutq.h — quantized cuts (DESIGN 2.4, Quantize: "tensors sent over a link may be sent as int8
 * with scale and zero point"): which int8 tensor of a quantized graph carries exactly the values
 * of a float cut, and the scale and zero point a cut tensor travels with.
 *
 * In an int8 program (--calib, or an imported QDQ model) a float tensor is often one side of a
 * QuantizeLinear or DequantizeLinear whose other side is an int8 split point: sending the int8
 * side gives the receiver the very values the single program computes, in a quarter of the
 * bytes. The planner takes that side whenever a cut is asked for at the float one (--split-at),
 * and records each 8-bit cut's parameters on its tensor (ec_tensor.quant), which codegen writes
 * into the programs (the wire format's scale and zero point fields) and into plan.json. */
#ifndef EC_CUTQ_H
#define EC_CUTQ_H

#include <stdbool.h>

#include "bridges.h"
#include "ir.h"
#include "plan.h"

/* The 8-bit cut of b that carries float tensor t's values exactly, or -1: the input of the
 * DequantizeLinear (per-tensor) that writes t, or the output of the QuantizeLinear that is t's
 * only reader (t no graph output). */
int ec_cut_int8_of(const ec_graph *g, const ec_bridges *b, int t);

/* Whether cut tensor t is one of the names --split-at gives, or the 8-bit cut standing for one. */
bool ec_cut_named(const ec_graph *g, const ec_bridges *b, int t, const char *const *names, int n);

/* The per-tensor scale and zero point of 8-bit activation t, from the node that writes it or a
 * node that reads it as a quantized operand. false when no node says (or they are per axis). */
bool ec_cut_qparams(const ec_graph *g, int t, float *scale, int32_t *zero_point);

/* Records on every 8-bit tensor p's partitions send the scale and zero point it travels with
 * (t->quant: axis -1, one value), for codegen and plan.json. EC_ERR_INTERNAL out of memory. */
ec_status ec_plan_record_cut_quant(ec_graph *g, const ec_plan *p);

#endif
