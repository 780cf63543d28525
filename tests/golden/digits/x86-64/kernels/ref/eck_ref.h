/* eck_ref.h — the portable reference kernels: one parameter struct and one function per op
 * family member. Included by generated code and by the compiler. */
#ifndef ECK_REF_H
#define ECK_REF_H

#include "eck_tensor.h"
#include "eck_ref_elementwise.h"
#include "eck_ref_nn.h"
#include "eck_ref_tensor.h"

#endif
