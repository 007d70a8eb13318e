/*
 * bench/issue: issuance speed against the limit OpenSSL itself sets, all
 * measured in this one run, on one core:
 *   (a) raw OpenSSL P-256 sign + verify pairs per second (the limit: an
 *       issuance verifies one CSR signature and makes one signature);
 *   (b) in-process issuance from a CSR (parse, verify, policy, build,
 *       sign) per second, and its ratio to (a);
 *   (c) the same with every certificate committed to SQLite (group
 *       commits of HM_BENCH_BATCH; nothing returned before it is durable);
 *   (d) listing the certificates expiring within 30 days of a store of
 *       100,000 certificates, in process.
 *   (e) the same through the CLI, `hallmark list --expiring 30d`, output
 *       to /dev/null, when the path of the hallmark binary is given.
 * (a), (b) and (c) are measured in interleaved slices of SLICE seconds, so
 * that all three see the same machine: on a shared VM the speed drifts
 * over seconds, and back-to-back runs would put that drift in the ratio.
 * Usage: bench-issue [seconds-per-figure] [store-size] [hallmark-binary]
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "hallmark/hallmark.h"
#include "bench.h"
#include "internal.h"	/* hm_issue_build: issuance without the store */

#define NCSR		64
#define BATCH		256
#define SLICE		0.25

struct fixture {
	unsigned char	*der[NCSR];
	size_t		 len[NCSR];
	hm_ca		*ca;
	hm_signer	*s;
};

static void
setup(struct fixture *f, const char *dir)
{
	hm_ca_params	 p = { 0 };
	hm_names	*n = hm_names_new();
	hm_key		*k;
	hm_csr		*c;
	hm_err		 err;
	char		 path[512];
	int		 i;

	p.cn = "Bench Root";
	p.pathlen = -1;
	if (hm_ca_init(dir, &p, &f->ca, &err) != HM_OK ||
	    hm_ca_signer(f->ca, NULL, NULL, &f->s, &err) != HM_OK)
		die("CA", &err);
	if (hm_names_add(n, "dns:node.bench.example", &err) != HM_OK)
		die("names", &err);
	for (i = 0; i < NCSR; i++) {
		snprintf(path, sizeof(path), "%s/csr%d.pem", dir, i);
		if (hm_key_generate(HM_KEY_P256, &k, &err) != HM_OK ||
		    hm_csr_new(k, "node.bench.example", n, &c, &err) != HM_OK ||
		    hm_csr_save(c, path, 0, &err) != HM_OK ||
		    hm_file_read(path, HM_CSR_MAX, &f->der[i], &f->len[i],
		    &err) != HM_OK)
			die("CSR", &err);
		hm_csr_free(c);
		hm_key_free(k);
	}
	hm_names_free(n);
}

/*
 * (b) and (c): issuance from CSR bytes, as a server would receive them,
 * for about secs seconds and at least min certificates; returns the
 * count, *t the time taken.  Certificate k of the run (from *seq) gets a
 * validity of 1 + k % 365 days, for the list figure.
 */
static long
issuance(struct fixture *f, double secs, int store, long min, long *seq,
    double *t)
{
	hm_issue_req	 req[BATCH];
	hm_csr		*csr[BATCH];
	hm_cert		*out[BATCH];
	hm_err		 err;
	double		 t0;
	long		 n = 0;
	int		 i, b;

	memset(req, 0, sizeof(req));
	t0 = now();
	do {
		b = store ? BATCH : 1;
		for (i = 0; i < b; i++) {
			int j = (int)((*seq + i) % NCSR);
			if (hm_csr_parse(f->der[j], f->len[j], &csr[i],
			    &err) != HM_OK)
				die("parse", &err);
			req[i].profile = HM_PROFILE_SERVER;
			req[i].csr = csr[i];
			req[i].validity = 86400 * (1 + (*seq + i) % 365);
		}
		if (store) {
			if (hm_issue_batch(f->s, req, (size_t)b, out, &err) !=
			    HM_OK)
				die("issue", &err);
		} else {
			if (hm_issue_build(f->s, req, out, &err) != HM_OK)
				die("issue", &err);
		}
		for (i = 0; i < b; i++) {
			hm_cert_free(out[i]);
			hm_csr_free(csr[i]);
		}
		n += b;
		*seq += b;
	} while ((*t = now() - t0) < secs || n < min);
	return n;
}

static int
count_cb(const hm_cert_info *ci, void *arg)
{
	(void)ci;
	(*(long *)arg)++;
	return 0;
}

int
main(int argc, char **argv)
{
	struct fixture	 f;
	hm_list_filter	 lf;
	hm_err		 err;
	char		 dir[] = "/tmp/hm-bench-XXXXXX", cmd[4200];
	double		 secs = argc > 1 ? atof(argv[1]) : 3.0;
	long		 want = argc > 2 ? atol(argv[2]) : 100000, have, rows;
	long		 n, na, nb, nc, seq;
	double		 a, b, c, t0, tl, t, ta, tb, tc;
	struct raw	 r;
	int		 i;

	pin_one_core();
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", NULL);
	memset(&f, 0, sizeof(f));
	setup(&f, dir);

	/* Interleaved slices: (a) (b) (c) (a) (b) (c) ... */
	if (raw_setup(&r) != 0)
		die("raw setup", NULL);
	na = nb = nc = 0;
	ta = tb = tc = 0;
	seq = 0;
	for (i = 0; i < (int)(secs / SLICE + 0.5) || i < 1; i++) {
		if ((n = raw_pairs(&r, SLICE, &t)) < 0)
			die("raw sign/verify", NULL);
		na += n;
		ta += t;
		nb += issuance(&f, SLICE, 0, 0, &seq, &t);
		tb += t;
		nc += issuance(&f, SLICE, 1, 0, &seq, &t);
		tc += t;
	}
	raw_free(&r);
	have = nc;
	a = (double)na / ta;
	b = (double)nb / tb;
	c = (double)nc / tc;
	printf("(a) raw OpenSSL P-256 sign+verify     %9.0f pairs/s  "
	    "(reference)\n", a);
	printf("(b) issuance from CSR, in process     %9.0f certs/s  "
	    "%5.1f %% of (a)  target >= 50 %%\n", b, 100 * b / a);
	printf("(c) issuance + SQLite commit (x%d)   %9.0f certs/s  "
	    "%5.1f %% of (a)  target >= 1500/s\n", BATCH, c, 100 * c / a);

	/* (d): grow the store to `want` certificates, then list. */
	if (have < want)
		issuance(&f, 0, 1, want - have, &seq, &t);
	memset(&lf, 0, sizeof(lf));
	lf.now = time(NULL);
	lf.expiring_before = lf.now + 30 * 86400;
	rows = 0;
	t0 = now();
	if (hm_cert_list(f.ca, &lf, count_cb, &rows, &err) != HM_OK)
		die("list", &err);
	tl = now() - t0;
	printf("(d) list --expiring 30d, %ld certs   %9.3f s "
	    "(%ld rows)  target < 1 s\n", want, tl, rows);

	if (argc > 3) {
		snprintf(cmd, sizeof(cmd), "%s -d %s list --expiring 30d "
		    ">/dev/null", argv[3], dir);
		t0 = now();
		if (system(cmd) != 0)
			die("hallmark list", NULL);
		printf("(e) hallmark list --expiring 30d (CLI) %8.3f s "
		    "target < 1 s\n", now() - t0);
	}
	hm_signer_free(f.s);
	hm_ca_close(f.ca);
	for (i = 0; i < NCSR; i++)
		free(f.der[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
