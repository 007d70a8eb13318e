/* What every benchmark needs: a clock, a way out, one core. */
#ifndef HM_BENCH_H
#define HM_BENCH_H

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hallmark/hallmark.h"

static inline double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void
die(const char *what, const hm_err *err)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
	    err != NULL ? err->msg : "failed");
	exit(1);
}

/* One core: the figures compare like with like. */
static inline void
pin_one_core(void)
{
	cpu_set_t	cpus;

	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
}

#endif
