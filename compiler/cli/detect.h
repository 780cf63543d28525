/* detect.h — `edgecc targets --detect`: a description of the machine edgecc runs on. */
#ifndef EC_DETECT_H
#define EC_DETECT_H

#include "target.h"

/* Describes the machine edgecc runs on, from /proc/cpuinfo, sysconf and /proc/meminfo, with a
 * short memory-bandwidth measurement; peak figures are estimated from the core type, features
 * and clock, and marked so (`estimated`, `notes`). Only `edgecc targets --detect` calls it:
 * compiling never probes the machine. */
ec_status ec_target_detect(const char *name, ec_target *t, ec_diag *d);

#endif
