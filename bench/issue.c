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
 * Usage: bench-issue [seconds-per-figure] [store-size] [hallmark-binary]
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "hallmark/hallmark.h"
#include "internal.h"	/* hm_issue_build: issuance without the store */

#define NCSR		64
#define BATCH		256

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, const hm_err *err)
{
	fprintf(stderr, "bench-issue: %s: %s\n", what,
	    err != NULL ? err->msg : "failed");
	exit(1);
}

/* (a): sign a TBS-sized message and verify the signature, P-256. */
static double
raw_pairs(double secs)
{
	unsigned char	 msg[600], sig[128];
	size_t		 siglen;
	EVP_PKEY	*k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_MD_CTX	*sctx = EVP_MD_CTX_new(), *vctx = EVP_MD_CTX_new();
	EVP_MD_CTX	*tmp = EVP_MD_CTX_new();
	double		 t0, t;
	long		 n = 0;

	memset(msg, 0x5a, sizeof(msg));
	if (k == NULL || sctx == NULL || vctx == NULL || tmp == NULL ||
	    EVP_DigestSignInit_ex(sctx, NULL, "SHA256", NULL, NULL, k,
	    NULL) != 1 ||
	    EVP_DigestVerifyInit_ex(vctx, NULL, "SHA256", NULL, NULL, k,
	    NULL) != 1)
		die("raw setup", NULL);
	t0 = now();
	do {
		/* The fastest honest use: prepared contexts, copied. */
		siglen = sizeof(sig);
		if (EVP_MD_CTX_copy_ex(tmp, sctx) != 1 ||
		    EVP_DigestSign(tmp, sig, &siglen, msg, sizeof(msg)) != 1 ||
		    EVP_MD_CTX_copy_ex(tmp, vctx) != 1 ||
		    EVP_DigestVerify(tmp, sig, siglen, msg, sizeof(msg)) != 1)
			die("raw sign/verify", NULL);
		n++;
	} while ((t = now() - t0) < secs);
	EVP_MD_CTX_free(tmp);
	EVP_MD_CTX_free(sctx);
	EVP_MD_CTX_free(vctx);
	EVP_PKEY_free(k);
	return (double)n / t;
}

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

/* (b) and (c): issuance from CSR bytes, as a server would receive them. */
static double
issuance(struct fixture *f, double secs, int store, long *count)
{
	hm_issue_req	 req[BATCH];
	hm_csr		*csr[BATCH];
	hm_cert		*out[BATCH];
	hm_err		 err;
	double		 t0, t;
	long		 n = 0;
	int		 i, b;

	memset(req, 0, sizeof(req));
	t0 = now();
	do {
		b = store ? BATCH : 1;
		for (i = 0; i < b; i++) {
			int j = (int)((n + i) % NCSR);
			if (hm_csr_parse(f->der[j], f->len[j], &csr[i],
			    &err) != HM_OK)
				die("parse", &err);
			req[i].profile = HM_PROFILE_SERVER;
			req[i].csr = csr[i];
			/* Spread expiries over a year for the list figure. */
			req[i].validity = 86400 * (1 + (n + i) % 365);
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
	} while ((t = now() - t0) < secs || (count != NULL && n < *count));
	if (count != NULL)
		*count = n;
	return (double)n / t;
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
	cpu_set_t	 cpus;
	char		 dir[] = "/tmp/hm-bench-XXXXXX", cmd[4200];
	double		 secs = argc > 1 ? atof(argv[1]) : 3.0;
	long		 want = argc > 2 ? atol(argv[2]) : 100000, have, rows;
	double		 a, b, c, t0, tl;

	/* One core: the figures compare like with like. */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", NULL);
	memset(&f, 0, sizeof(f));
	setup(&f, dir);

	a = raw_pairs(secs);
	b = issuance(&f, secs, 0, NULL);
	have = 0;
	c = issuance(&f, secs, 1, &have);
	printf("(a) raw OpenSSL P-256 sign+verify     %9.0f pairs/s  "
	    "(reference)\n", a);
	printf("(b) issuance from CSR, in process     %9.0f certs/s  "
	    "%5.1f %% of (a)  target >= 50 %%\n", b, 100 * b / a);
	printf("(c) issuance + SQLite commit (x%d)   %9.0f certs/s  "
	    "%5.1f %% of (a)  target >= 1500/s\n", BATCH, c, 100 * c / a);

	/* (d): grow the store to `want` certificates, then list. */
	if (have < want) {
		have = want - have;
		issuance(&f, 0, 1, &have);
	}
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
	for (int i = 0; i < NCSR; i++)
		free(f.der[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
