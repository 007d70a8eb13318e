/*
 * bench/crl: the time to produce a signed CRL of N revoked certificates
 * (target: 1,000,000 in at most 5 s), next to the reference measured in
 * the same run: the time OpenSSL itself takes to DER-encode and sign a
 * CRL of the same entries built in memory (what any CRL writer must do).
 * The revoked rows are written straight into the store with SQL (issuing
 * a million certificates first would take minutes and measure nothing of
 * the CRL); their serials are random 17-byte ones as hallmark issues.
 * Usage: bench-crl [N ...]   (default: 100000 1000000)
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "hallmark/hallmark.h"
#include "bench.h"
#include "internal.h"

/* n revoked rows under CA "root", added to those there. */
static void
fill(const char *dir, long n)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	unsigned char	 sn[17];
	char		 path[512], hex[41];
	long		 i;

	snprintf(path, sizeof(path), "%s/hallmark.db", dir);
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO certs (serial, ca, subject, "
	    "issuer, sans, not_before, not_after, profile, status, "
	    "spki_sha256, issued_at, der, revoked_at, reason) VALUES (?, "
	    "'root', 'CN=x', 'CN=root', '', 0, 2000000000, 'client', "
	    "'revoked', '', 0, x'00', ?, ?)", -1, &st, NULL) != SQLITE_OK)
		die("store", NULL);
	for (i = 0; i < n; i++) {
		if (RAND_bytes(sn, sizeof(sn)) != 1)
			die("RAND_bytes", NULL);
		sn[0] = (sn[0] & 0x3f) | 0x40;
		hm_hex(sn, sizeof(sn), hex, sizeof(hex));
		sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, 1700000000 + i);
		sqlite3_bind_int(st, 3, (int)(i % 2 ? HM_REASON_KEY_COMPROMISE :
		    HM_REASON_SUPERSEDED));
		if (sqlite3_step(st) != SQLITE_DONE)
			die("insert", NULL);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		die("commit", NULL);
	sqlite3_close(db);
}

/* The reference: encode and sign a CRL of n entries built in memory. */
static double
reference(hm_signer *s, long n)
{
	X509_CRL	*crl = X509_CRL_new();
	X509_REVOKED	*r;
	ASN1_INTEGER	*sn;
	ASN1_TIME	*t;
	unsigned char	 b[17], *der = NULL;
	double		 t0;
	long		 i;
	int		 len;

	if (crl == NULL || !X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(s->cert)))
		die("reference CRL", NULL);
	t = ASN1_TIME_set(NULL, time(NULL));
	X509_CRL_set1_lastUpdate(crl, t);
	for (i = 0; i < n; i++) {
		RAND_bytes(b, sizeof(b));
		b[0] = (b[0] & 0x3f) | 0x40;
		r = X509_REVOKED_new();
		sn = ASN1_INTEGER_new();
		ASN1_STRING_set(sn, b, sizeof(b));
		X509_REVOKED_set_serialNumber(r, sn);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(crl, r);
		ASN1_INTEGER_free(sn);
	}
	ASN1_TIME_free(t);
	t0 = now();
	if (X509_CRL_sign(crl, s->pkey, EVP_sha256()) <= 0 ||
	    (len = i2d_X509_CRL(crl, &der)) <= 0)
		die("reference sign", NULL);
	t0 = now() - t0;
	OPENSSL_free(der);
	X509_CRL_free(crl);
	return t0;
}

int
main(int argc, char **argv)
{
	hm_ca_params	 p = { 0 };
	hm_ca		*ca;
	hm_signer	*s;
	hm_err		 err;
	unsigned char	*crl;
	size_t		 len;
	char		 dir[] = "/tmp/hm-bench-crl-XXXXXX", cmd[128];
	long		 sizes[8] = { 100000, 1000000 }, have = 0;
	int		 nsizes = 2, i;
	double		 t0, t, ref;

	if (argc > 1) {
		nsizes = 0;
		for (i = 1; i < argc && nsizes < 8; i++)
			sizes[nsizes++] = atol(argv[i]);
	}
	/* Both cores: hm_crl_build uses two threads for large CRLs. */
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", NULL);
	p.cn = "Bench CRL Root";
	p.pathlen = -1;
	if (hm_ca_init(dir, &p, &ca, &err) != HM_OK ||
	    hm_ca_signer(ca, NULL, NULL, &s, &err) != HM_OK)
		die("CA", &err);
	for (i = 0; i < nsizes; i++) {
		fill(dir, sizes[i] - have);
		have = sizes[i];
		t0 = now();
		if (hm_crl_build(s, 0, 0, &crl, &len, &err) != HM_OK)
			die("hm_crl_build", &err);
		t = now() - t0;
		free(crl);
		ref = reference(s, sizes[i]);
		printf("CRL of %8ld revoked: %6.2f s (%5.1f MB DER); OpenSSL "
		    "encode+sign alone %5.2f s; ratio %.1fx%s\n", sizes[i], t,
		    (double)len / 1e6, ref, t / ref, sizes[i] >= 1000000 ?
		    "  target <= 5 s" : "");
	}
	hm_signer_free(s);
	hm_ca_close(ca);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
