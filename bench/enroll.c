/*
 * bench/enroll: enrollments per second of a real `hallmark serve` over
 * HTTP (docs/PROTOCOL.md, section 1), next to the raw signature rate,
 * all measured in this one run:
 *   (a) raw OpenSSL P-256 sign + verify pairs per second, prepared
 *       contexts copied (as bench/issue): the limit, since an enrollment
 *       checks one CSR signature and makes one;
 *   (b) enrollments per second of `hallmark serve` to CLIENTS threads,
 *       each on one HTTP/1.1 keep-alive connection posting to /enroll,
 *       every certificate committed to the store before its reply is
 *       sent; the ratio to (a) and the latency of a request (send to
 *       last byte of the reply), p50 and p99.
 * (a) and (b) are measured in interleaved slices of SLICE seconds, as
 * bench/issue and bench/ocsp do.  (a) and the server's event loop run on
 * one core; the client threads and the server's cosigner (which signs
 * with the loop) on the other, so the clients' work is not the loop's;
 * the server's store writer (which commits one batch while the loop
 * signs the next) and its checkpointer where the scheduler puts them.
 *
 * Each enrollment needs a token of its own.  Between slices, untimed,
 * the bench tops up a pool of sealed requests: tokens inserted into the
 * CA's store in one transaction (the first made by hm_token_new, the
 * others with its scope, a fresh id and PSK each), never more than
 * HM_TOKENS_PENDING_MAX pending (the store counts them in the same
 * transaction), and a request sealed for each (hm_enroll_new with one of
 * NKEYS CSRs made at the start, asking for no name: the token's scope
 * decides).  So the timed part holds no client cryptography but opening
 * the replies.
 *
 * Every reply must be a 200 that opens under its token for its request
 * (hm_enroll_rep_open) with the status "issued"; every SAMPLE-th of each
 * client goes through hm_enroll_finish with its key (the certificate is
 * for the key, the chain verifies).  After the run, with the server
 * stopped, the inventory must hold exactly one more certificate for each
 * reply that said issued, and the store as many used tokens.
 *
 * Usage: bench-enroll [seconds-per-figure] [clients] [hallmark-binary]
 * (default: 3 16, the hallmark next to this program)
 */
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hallmark/hallmark.h"
#include "bench.h"
#include "internal.h"	/* the store's token ops, the reply codec */

#define NKEYS		64	/* client keys, one CSR each */
#define SLICE		0.25	/* seconds */
#define SAMPLE		64	/* hm_enroll_finish on one reply in SAMPLE */
#define POOL_MIN	1000	/* sealed requests ready before a slice */
#define POOL_MAX	(HM_TOKENS_PENDING_MAX - 500)
#define TOKEN_TTL	3600	/* seconds: longer than any run */
#define BODY_MAX	HM_ENROLL_MAX	/* response body */
#define CN		"node.bench.example"

struct fixture {
	hm_ca		*ca;		/* the bench's own store connection */
	hm_key		*key[NKEYS];
	hm_csr		*csr[NKEYS];
	struct hm_token_rec tmpl;	/* the scope every token gets */
};

/* One sealed request, HTTP head and body in one buffer, sent as it is. */
struct prep {
	hm_enroll	*e;
	int		 key;		/* the CSR's key: fixture key[] */
	unsigned char	*msg;
	size_t		 len;
	unsigned char	 psk[HM_PSK_LEN];
	unsigned char	 id[HM_PSK_ID_LEN];
	unsigned char	 nonce_c[HM_ENROLL_NONCE_LEN];
	unsigned char	 hash[HM_ENROLL_HASH_LEN];
	double		 lat;		/* seconds, once answered */
};

/* Requests ready to send; the clients take them in order. */
struct pool {
	struct prep	*p;
	size_t		 n;
	atomic_size_t	 next;
};

struct bench;

struct client {
	struct bench	*b;
	long		 done;		/* requests answered, all slices */
	long		 finished;	/* hm_enroll_finish'ed */
	struct http	 conn;
	unsigned char	 buf[HTTP_HEAD_MAX + BODY_MAX];	/* conn's */
	char		 why[HM_ERR_MSG_MAX + 64]; /* set: this client failed */
};

struct bench {
	struct fixture		*f;
	struct pool		*pool;
	unsigned		 port;
	struct crew		 crew;
	struct client		*c;
};

/* Seconds the server's threads have run on a CPU, or -1. */
static double
server_cpu(void)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[320], line[128];
	unsigned long long ns, sum = 0;
	FILE		*fp;
	int		 n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)server_pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL && n < 64) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%.32s/schedstat",
		    (long)server_pid, de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		if (fgets(line, sizeof(line), fp) != NULL &&
		    sscanf(line, "%llu", &ns) == 1)
			sum += ns;
		fclose(fp);
		n++;
	}
	closedir(d);
	return (double)sum / 1e9;
}

/*
 * The server's threads but its first (the event loop, which stays on the
 * first core, as (a) does): its cosigner, whose work is to use the other
 * core, to cpus, with the clients; its store writer and checkpointer,
 * which mostly wait for the disk, to every core, where the scheduler
 * finds room, as on a server nobody pins (pinned with the clients, the
 * writer's commits waited behind them: p99 2 to 3 ms higher).  They
 * exist, named by serve, once it listens.
 */
static void
server_threads_to(const cpu_set_t *cpus)
{
	struct dirent	*de;
	DIR		*d;
	cpu_set_t	 all;
	const cpu_set_t	*cpus_to;
	FILE		*fp;
	char		 path[96], name[32], *end;
	long		 tid;
	int		 n = 0;

	/* The loop's core and the clients'. */
	if (sched_getaffinity(server_pid, sizeof(all), &all) == -1)
		fail("sched_getaffinity: %s", strerror(errno));
	CPU_OR(&all, &all, cpus);
	snprintf(path, sizeof(path), "/proc/%ld/task", (long)server_pid);
	if ((d = opendir(path)) == NULL)
		fail("%s: %s", path, strerror(errno));
	while ((de = readdir(d)) != NULL && n < 64) {
		errno = 0;
		tid = strtol(de->d_name, &end, 10);
		if (errno != 0 || *end != '\0' || tid <= 0 ||
		    tid == (long)server_pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%ld/comm",
		    (long)server_pid, tid);
		name[0] = '\0';
		if ((fp = fopen(path, "r")) != NULL) {
			if (fgets(name, sizeof(name), fp) == NULL)
				name[0] = '\0';
			fclose(fp);
		}
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, "hm-writer") == 0 ||
		    strcmp(name, "hm-checkpoint") == 0)
			cpus_to = &all;
		else
			cpus_to = cpus;
		if (sched_setaffinity((pid_t)tid, sizeof(*cpus_to), cpus_to) ==
		    -1)
			fail("sched_setaffinity %ld: %s", tid, strerror(errno));
		n++;
	}
	closedir(d);
}

static int
count_cert(const hm_cert_info *ci, void *arg)
{
	(void)ci;
	(*(long *)arg)++;
	return 0;
}

static long
certs_stored(hm_ca *ca)
{
	hm_list_filter	lf;
	hm_err		err;
	long		n = 0;

	memset(&lf, 0, sizeof(lf));
	lf.now = time(NULL);
	if (hm_cert_list(ca, &lf, count_cert, &n, &err) != HM_OK)
		fail("listing the inventory: %s", err.msg);
	return n;
}

static int
count_used(const hm_token_info *ti, void *arg)
{
	if (strcmp(ti->state, "used") == 0)
		(*(long *)arg)++;
	return 0;
}

/*
 * A CA made with the CLI; the client keys and their CSRs (no names: the
 * token's scope decides); the scope every token gets, from one token
 * made by hm_token_new.
 */
static void
setup(struct fixture *f, const char *hm)
{
	const char	*init[] = { hm, "-d", tmpdir, "init", "--cn",
			    "Bench Enroll Root", NULL };
	hm_token_params	 tp;
	hm_token_info	 ti;
	hm_names	*sans;
	hm_err		 err;
	char		 tok[HM_TOKEN_LEN + 1];
	int		 i;

	run(init);
	if (hm_ca_open(tmpdir, &f->ca, &err) != HM_OK)
		fail("CA: %s", err.msg);
	for (i = 0; i < NKEYS; i++)
		if (hm_key_generate(HM_KEY_P256, &f->key[i], &err) != HM_OK ||
		    hm_csr_new_any(f->key[i], NULL, NULL, &f->csr[i], &err) !=
		    HM_OK)
			fail("client key: %s", err.msg);
	if ((sans = hm_names_new()) == NULL ||
	    hm_names_add(sans, "dns:" CN, &err) != HM_OK)
		fail("names");
	memset(&tp, 0, sizeof(tp));
	tp.name = CN;
	tp.profile = HM_PROFILE_SERVER;
	tp.sans = sans;
	tp.ttl = TOKEN_TTL;
	if (hm_token_new(f->ca, &tp, tok, &ti, &err) != HM_OK ||
	    f->ca->store->ops->token_get(f->ca->store, ti.id, &f->tmpl,
	    &err) != HM_OK)
		fail("token: %s", err.msg);
	OPENSSL_cleanse(tok, sizeof(tok));
	hm_token_rec_clear(&f->tmpl);
	hm_names_free(sans);
}

static void
fixture_free(struct fixture *f)
{
	int	i;

	for (i = 0; i < NKEYS; i++) {
		hm_csr_free(f->csr[i]);
		hm_key_free(f->key[i]);
	}
	hm_ca_close(f->ca);
}

static void
prep_clear(struct prep *p)
{
	hm_enroll_free(p->e);
	free(p->msg);
	OPENSSL_cleanse(p->psk, sizeof(p->psk));
	memset(p, 0, sizeof(*p));
}

/* A sealed request for token under CSR k, after an HTTP head for port. */
static void
prep_seal(const struct fixture *f, const char *token, int k,
    unsigned port, struct prep *p)
{
	struct hm_enroll_req	 h;
	const unsigned char	*body;
	char			 head[256];
	size_t			 blen;
	hm_err			 err;
	int			 n;

	memset(p, 0, sizeof(*p));
	p->key = k;
	if (hm_enroll_new(token, f->csr[k], &p->e, &err) != HM_OK ||
	    hm_token_parse(token, p->id, p->psk, &err) != HM_OK)
		fail("sealing a request: %s", err.msg);
	body = hm_enroll_request(p->e, &blen);
	if (hm_enroll_req_parse(body, blen, &h, &err) != HM_OK ||
	    hm_enroll_hash(body, blen, p->hash, &err) != HM_OK)
		fail("the request just sealed: %s", err.msg);
	memcpy(p->nonce_c, h.nonce_c, sizeof(p->nonce_c));
	n = snprintf(head, sizeof(head), "POST /enroll HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%u\r\n"
	    "Content-Type: application/x-hallmark-enroll\r\n"
	    "Content-Length: %zu\r\n\r\n", port, blen);
	if (n <= 0 || (size_t)n >= sizeof(head) ||
	    (p->msg = malloc((size_t)n + blen)) == NULL)
		fail("HTTP request");
	memcpy(p->msg, head, (size_t)n);
	memcpy(p->msg + n, body, blen);
	p->len = (size_t)n + blen;
}

/*
 * Untimed, between slices: drop what was sent (the clients checked it),
 * keep what was not, and add tokens and their requests up to want, the
 * tokens in one store transaction that counts the pending ones first.
 */
static void
pool_fill(struct fixture *f, struct pool *pl, size_t want, unsigned port,
    long *seq)
{
	struct hm_token_rec	 r;
	hm_store		*st = f->ca->store;
	unsigned char		 id[HM_PSK_ID_LEN];
	char			 tok[HM_TOKEN_LEN + 1];
	size_t			 i, next = atomic_load(&pl->next), add;
	int64_t			 pending;
	hm_err			 err;
	int			 rc, try;

	if (next > pl->n)
		next = pl->n;
	for (i = 0; i < next; i++)
		prep_clear(&pl->p[i]);
	memmove(pl->p, pl->p + next, (pl->n - next) * sizeof(*pl->p));
	pl->n -= next;
	atomic_store(&pl->next, 0);
	if (want > POOL_MAX)
		want = POOL_MAX;
	if (pl->n >= want)
		return;
	add = want - pl->n;
	r = f->tmpl;
	r.info.created_at = time(NULL);
	r.info.expires_at = r.info.created_at + TOKEN_TTL;
	if (st->ops->begin(st, &err) != HM_OK ||
	    st->ops->token_pending(st, r.info.created_at, &pending, &err) !=
	    HM_OK)
		fail("tokens: %s", err.msg);
	if (pending + (int64_t)add > HM_TOKENS_PENDING_MAX)
		fail("%lld tokens pending, %zu more would pass the cap of %d",
		    (long long)pending, add, HM_TOKENS_PENDING_MAX);
	for (i = 0; i < add; i++) {
		if (RAND_priv_bytes(r.psk, sizeof(r.psk)) != 1)
			fail("random PSK");
		for (try = 0, rc = HM_E_EXISTS; try < 4 && rc == HM_E_EXISTS;
		    try++) {
			if (RAND_bytes(id, sizeof(id)) != 1)
				fail("random id");
			hm_token_id_hex(id, r.info.id);
			rc = st->ops->token_insert(st, &r, &err);
		}
		if (rc != HM_OK || hm_token_format(id, r.psk, tok) != HM_OK)
			fail("token: %s", err.msg);
		prep_seal(f, tok, (int)(*seq % NKEYS), port,
		    &pl->p[pl->n + i]);
		(*seq)++;
	}
	if (st->ops->commit(st, &err) != HM_OK)
		fail("tokens: %s", err.msg);
	OPENSSL_cleanse(tok, sizeof(tok));
	OPENSSL_cleanse(r.psk, sizeof(r.psk));
	pl->n += add;
}

/*
 * One request from the pool and its reply, checked: 1 when the pool is
 * dry, -1 on failure (c->why says why); crew_fn.
 */
static int
client_one(void *arg)
{
	struct client		*c = arg;
	struct pool		*pl = c->b->pool;
	struct prep		*p;
	struct hm_enroll_reply	 r;
	const unsigned char	*body;
	size_t			 blen, i;
	hm_err			 err;
	double			 t0;
	int			 status = 0, closing = 0, rc;

	if ((i = atomic_fetch_add(&pl->next, 1)) >= pl->n)
		return 1;
	p = &pl->p[i];
	if (c->conn.fd == -1 && http_connect(&c->conn) != 0)
		return -1;
	t0 = now();
	if (http_roundtrip(&c->conn, p->msg, p->len, &status, &body, &blen,
	    &closing) != 0)
		return -1;
	p->lat = now() - t0;
	if (status != 200 || blen == 0) {
		snprintf(c->why, sizeof(c->why), "HTTP %d with %zu bytes",
		    status, blen);
		return -1;
	}
	memset(&r, 0, sizeof(r));
	if ((rc = hm_enroll_rep_open(p->psk, p->id, p->nonce_c, p->hash, body,
	    blen, &r, &err)) != HM_OK) {
		snprintf(c->why, sizeof(c->why), "the reply does not open: "
		    "%s", err.msg);
		return -1;
	}
	rc = r.status;
	if (rc != HM_ENROLL_ISSUED)
		snprintf(c->why, sizeof(c->why), "refused (%u): %s", r.code,
		    r.msg);
	hm_enroll_reply_clear(&r);
	if (rc != HM_ENROLL_ISSUED)
		return -1;
	if (c->done % SAMPLE == 0) {
		if (hm_enroll_finish(p->e, c->b->f->key[p->key], body, blen,
		    &err) != HM_OK) {
			snprintf(c->why, sizeof(c->why), "hm_enroll_finish: "
			    "%s", err.msg);
			return -1;
		}
		c->finished++;
	}
	if (closing)
		http_close(&c->conn);
	c->done++;
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The latencies of the requests sent in the last slice, kept. */
static void
lat_keep(const struct pool *pl, double **lat, size_t *n, size_t *cap)
{
	size_t	i, sent = atomic_load(&pl->next);
	double	*p;

	if (sent > pl->n)
		sent = pl->n;
	if (*n + sent > *cap) {
		if ((p = realloc(*lat, (*n + sent + 4096) * sizeof(*p))) ==
		    NULL)
			fail("out of memory");
		*lat = p;
		*cap = *n + sent + 4096;
	}
	for (i = 0; i < sent; i++)
		(*lat)[(*n)++] = pl->p[i].lat;
}

int
main(int argc, char **argv)
{
	struct fixture		 f;
	struct bench		 b;
	struct pool		 pl;
	struct raw		 raw;
	cpu_set_t		 srv;
	hm_ca			*after;
	hm_err			 err;
	char			 hm[PATH_MAX];
	double			 secs, t, ta, tb, a, bb, cpu, busy, best = 0;
	double			*lat = NULL, p50, p99;
	long			 n, na, nb, seq = 0, finished = 0, before;
	long			 stored, used = 0;
	size_t			 nlat = 0, cap = 0, want;
	int			 i, k, rounds, core, st, dry = 0, clients;

	memset(&b, 0, sizeof(b));
	crew_args(argc, argv, "16", &secs, &clients, hm, sizeof(hm));
	crew_init(&b.crew, clients, client_one, server_cpu);

	bench_begin("enroll");
	memset(&f, 0, sizeof(f));
	setup(&f, hm);
	before = certs_stored(f.ca);

	/* The server and (a) on the first core; clients on the rest. */
	core = cores_split(&srv, &b.crew.cpus, &b.crew.pin);
	b.f = &f;
	b.port = server_start(hm, &srv);
	if (b.crew.pin)
		server_threads_to(&b.crew.cpus);

	memset(&pl, 0, sizeof(pl));
	if ((pl.p = calloc(POOL_MAX, sizeof(*pl.p))) == NULL ||
	    (b.c = calloc((size_t)b.crew.n, sizeof(*b.c))) == NULL)
		fail("out of memory");
	atomic_init(&pl.next, 0);
	b.pool = &pl;
	for (i = 0; i < b.crew.n; i++) {
		b.c[i].b = &b;
		http_init(&b.c[i].conn, b.port, b.c[i].buf, BODY_MAX,
		    b.c[i].why, sizeof(b.c[i].why));
		crew_set(&b.crew, i, &b.c[i], &b.c[i].conn);
	}
	crew_start(&b.crew);

	/*
	 * A round uncounted: connections made, caches warm.  Before each
	 * slice the pool holds three slices' worth at the best rate seen
	 * (twice as much after a dry slice), within the cap.
	 */
	if (raw_setup(&raw) != 0)
		fail("raw setup");
	rounds = (int)(secs / SLICE + 0.5);
	na = nb = 0;
	ta = tb = busy = 0;
	want = POOL_MIN;
	for (k = -1; k < rounds && !interrupted; k++) {
		if ((n = raw_pairs(&raw, SLICE, &t)) < 0)
			fail("raw sign/verify");
		if (k >= 0) {
			na += n;
			ta += t;
		}
		pool_fill(&f, &pl, want, b.port, &seq);
		/* (b); a dry pool ends the slice early. */
		n = crew_slice(&b.crew, SLICE, 1, &t, &cpu);
		if (k >= 0) {
			nb += n;
			tb += t;
			busy += cpu;
			lat_keep(&pl, &lat, &nlat, &cap);
			dry += b.crew.dry;
		}
		if ((double)n / t > best)
			best = (double)n / t;
		want = (size_t)(3 * best * SLICE) + 4 * (size_t)b.crew.n;
		if (b.crew.dry)
			want = 2 * pl.n;
		if (want < POOL_MIN)
			want = POOL_MIN;
	}
	raw_free(&raw);

	crew_stop(&b.crew);
	for (i = 0; i < b.crew.n; i++)
		finished += b.c[i].finished;
	if (interrupted)
		fail("interrupted");
	st = server_stop();
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("the server did not exit cleanly on SIGTERM");

	/* Durable: what the replies said issued is in the store. */
	if (hm_ca_open(tmpdir, &after, &err) != HM_OK)
		fail("CA: %s", err.msg);
	stored = certs_stored(after) - before;
	if (hm_token_list(after, count_used, &used, &err) != HM_OK)
		fail("tokens: %s", err.msg);
	hm_ca_close(after);
	if (stored != b.crew.total || used != b.crew.total)
		fail("%ld replies said issued; the store holds %ld new "
		    "certificates and %ld used tokens", b.crew.total, stored,
		    used);
	if (nlat == 0)
		fail("no enrollment timed");
	qsort(lat, nlat, sizeof(*lat), cmp_double);
	p50 = lat[(nlat - 1) / 2];
	p99 = lat[(size_t)((double)(nlat - 1) * 0.99)];

	a = (double)na / ta;
	bb = (double)nb / tb;
	printf("(a) raw P-256 sign+verify            %9.0f pairs/s  "
	    "(reference)\n", a);
	printf("(b) enrollments over HTTP, %3d clients %7.0f/s  %5.1f %% of "
	    "(a)  p50 %.2f ms  p99 %.2f ms  target >= 3000/s, p99 <= 10 ms\n",
	    b.crew.n, bb, 100 * bb / a, p50 * 1e3, p99 * 1e3);
	printf("    server busy %.0f %% of a core, %.0f us CPU/enrollment; its "
	    "event loop on core %d%s\n", 100 * busy / tb, nb > 0 ?
	    busy / (double)nb * 1e6 : 0, core, b.crew.pin ?
	    ", its cosigner and the clients on the others, its writer "
	    "anywhere" :
	    ", the rest too");
	printf("    %ld replies opened and issued, %ld through "
	    "hm_enroll_finish; %ld new certificates and %ld used tokens in "
	    "the store%s\n", b.crew.total, finished, stored, used,
	    dry > 0 ? " (the pool ran dry in a slice)" : "");

	for (i = 0; i < (int)pl.n; i++)
		prep_clear(&pl.p[i]);
	free(pl.p);
	free(lat);
	free(b.c);
	crew_free(&b.crew);
	fixture_free(&f);
	return 0;
}
