/* ecrt_serve.h — serving a partition over a transport (`--listen`): requests in, replies back on
 * the connection they came from, outputs forwarded to the next partition (`--next`). C99, POSIX
 * threads. docs/serving.md describes the behaviour; docs/wire-format.md the frames. */
#ifndef ECRT_SERVE_H
#define ECRT_SERVE_H

#include <stdint.h>

#include "ecrt_driver.h"

#define ECRT_SERVE_MAX_NEXT 8

typedef struct ecrt_serve_opts {
  const char *listen;            /* endpoint to accept requests on */
  const char *next;              /* endpoint of the next partition, or NULL for the last one */
  /* Several next partitions (a tree; n_next > 0 replaces next): each gets this partition's
   * outputs for the requests whose model set meets next_models[k], with that part of the set;
   * the upstream reply merges their outputs. next_models[k] 0: every model. */
  int n_next;
  const char *next_eps[ECRT_SERVE_MAX_NEXT];
  uint32_t next_models[ECRT_SERVE_MAX_NEXT];
  uint64_t plan_id;              /* frames carrying another plan id are refused */
  int timeout_ms;                /* bound of every blocking call, and of a request's wait for the
                                    next partition's reply */
  uint64_t max_bytes;            /* largest payload accepted in one frame */
  /* A program of several models: a request's model set (0: all) picks which run, the reply
   * carries only their outputs, and a ping's reply names them. NULL: one model, whose requests
   * carry the set 0 (or 1). */
  const ecrt_models *models;
} ecrt_serve_opts;

/* Serves an initialised partition until SIGINT or SIGTERM. Returns the exit status (0 after a
 * signal, 1 when the endpoint cannot be opened), having joined its threads and freed its
 * buffers; ctx stays the caller's to release. */
int ecrt_serve(const ecrt_program *p, void *ctx, const ecrt_serve_opts *o);

/* The default plan id of a program that was given none (ecrt_driver_main_plan): a hash of its
 * input and output dtypes and shapes. */
uint64_t ecrt_program_plan_id(const ecrt_program *p);

#endif
