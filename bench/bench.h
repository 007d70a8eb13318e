/*
 * What every benchmark needs: a clock, a way out, one core; and, in
 * bench.c, what the HTTP benches share: a `hallmark serve` child, a
 * keep-alive HTTP/1.1 client, a crew of client threads, the raw sign +
 * verify reference.
 */
#ifndef HM_BENCH_H
#define HM_BENCH_H

#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/evp.h>

#include "hallmark/hallmark.h"

#define HTTP_IO_TIMEOUT	5	/* seconds a socket may wait */
#define HTTP_HEAD_MAX	4096	/* response status line and headers */

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

/*
 * The server and the directory it runs in (tmpdir), undone on exit;
 * interrupted is set by SIGINT and SIGTERM.
 */
extern pid_t			server_pid;
extern char			tmpdir[64];
extern volatile sig_atomic_t	interrupted;

/* A message, the server's log tail, exit(1); main thread only. */
void	fail(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	sleep_for(double);
/* Signals caught, tmpdir /tmp/hm-bench-<name>-XXXXXX made, cleanup set. */
void	bench_begin(const char *);
/* Run a CLI command, its output to /dev/null, its errors to ours. */
void	run(const char *const []);
/* `hm -d tmpdir serve` on cpu, logging to tmpdir/serve.log: its port. */
unsigned server_start(const char *, const cpu_set_t *);
/* SIGTERM, a bounded wait, then SIGKILL: its wait status, -1 if killed. */
int	server_stop(void);
/* This process on the first core (returned, in srv), the rest in cli. */
int	cores_split(cpu_set_t *, cpu_set_t *, int *);
/* The hallmark next to this program. */
void	default_hallmark(char *, size_t);
long	number(const char *, long, long, const char *);

/*
 * One keep-alive connection to 127.0.0.1:port.  buf holds
 * HTTP_HEAD_MAX + body_max bytes: a response, maybe the start of the
 * next; why (whylen bytes) says what failed.
 */
struct http {
	int		 fd;		/* -1: not connected */
	unsigned	 port;
	unsigned char	*buf;
	size_t		 body_max;
	size_t		 have, used;
	char		*why;
	size_t		 whylen;
};

void	http_init(struct http *, unsigned, unsigned char *, size_t, char *,
	    size_t);
int	http_connect(struct http *);
void	http_close(struct http *);
/*
 * Send msg and read one response, every length bounded: its status, its
 * body (in buf until the next call) and whether the server closes.
 */
int	http_roundtrip(struct http *, const unsigned char *, size_t, int *,
	    const unsigned char **, size_t *, int *);

/*
 * Client threads that run in slices: in each, every member calls one
 * until the slice ends, it fails or it returns 1.  one(arg) makes one
 * request: 0 done, 1 nothing left to send (the pool is dry), -1 failed,
 * with why in the member's conn (http_init's why).
 */
#define CREW_MAX	256	/* clients */

typedef int	crew_fn(void *);
typedef double	crew_clock(void);

struct crew;

struct crew_member {
	pthread_t	 th;
	struct crew	*crew;
	void		*arg;
	struct http	*conn;		/* closed when the crew stops */
};

struct crew {
	crew_fn			*one;
	crew_clock		*cpu;
	cpu_set_t		 cpus;		/* the members', if pin */
	int			 pin;
	pthread_mutex_t		 mu;
	pthread_condattr_t	 ca;
	pthread_cond_t		 go, done;
	unsigned		 gen;		/* a new slice */
	int			 quit, busy, failed;
	int			 dry;		/* in the last slice */
	long			 count, total;
	atomic_int		 run;
	struct crew_member	*m;
	int			 n;
};

/*
 * argv[1..3]: seconds (default 3), clients (default clients, at most
 * CREW_MAX), the hallmark binary (default: the one next to this program,
 * which must be executable).
 */
void	crew_args(int, char **, const char *, double *, int *, char *,
	    size_t);
/*
 * n members, none started, that call one, not pinned (cpus and pin are
 * the caller's to set); cpu gives the server's CPU seconds, read before
 * and after each slice.
 */
void	crew_init(struct crew *, int, crew_fn *, crew_clock *);
/* Member i calls one(arg) and talks on conn. */
void	crew_set(struct crew *, int, void *, struct http *);
/* The threads, on cpus if pin, with SIGINT and SIGTERM blocked. */
void	crew_start(struct crew *);
/*
 * The members run for about secs seconds (less, if early, when all have
 * stopped: the pool is dry); the requests done.  The clock (*t) stops
 * when the last member has its last answer, so every answer of the time
 * is counted, none outside it; *cpu gets the server's CPU time in the
 * slice.  A member's failure is fail()ed.
 */
long	crew_slice(struct crew *, double, int, double *, double *);
/* The threads told to quit and joined. */
void	crew_stop(struct crew *);
void	crew_free(struct crew *);

/* The reference: sign a TBS-sized message and verify it, P-256. */
struct raw {
	unsigned char	 msg[600];
	EVP_PKEY	*k;
	EVP_MD_CTX	*sctx, *vctx, *tmp;
};

int	raw_setup(struct raw *);
void	raw_free(struct raw *);
/* Pairs done in about secs seconds, or -1; *t gets the time taken. */
long	raw_pairs(struct raw *, double, double *);

#endif
