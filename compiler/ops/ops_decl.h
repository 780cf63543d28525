/* ops_decl.h — declarations of every family's infer/cost/print/scratch functions. */
#ifndef EC_OPS_DECL_H
#define EC_OPS_DECL_H

#include "op.h"
#include "elementwise.h"
#include "nn.h"
#include "tensor.h"
#include "control.h"

#endif
