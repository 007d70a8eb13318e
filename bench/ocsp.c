/*
 * bench/ocsp: OCSP responses per second of a real `hallmark serve` over
 * HTTP, next to the signature rate of the responder's own key, all
 * measured in this one run:
 *   (a) signatures per second of the CA key with its prepared signing
 *       context, copied per signature as lib/ocsp.c does, over a message
 *       the size of the server's tbsResponseData: the limit of a
 *       single-threaded responder that signs every answer;
 *   (b) responses per second of `hallmark serve` to CLIENTS threads, each
 *       on one HTTP/1.1 keep-alive connection posting to /ocsp, and the
 *       ratio to (a);
 *   (c) hm_ocsp_respond in process, one thread: the library without HTTP
 *       and the event loop, to tell where (b) loses to (a).
 * The server, (a) and (c) run on one core and the client threads on the
 * other (when there are two): the server is single-threaded, so (b) is
 * compared with one core's signing rate.
 *
 * (a), (b) and (c) are measured in interleaved slices of SLICE seconds
 * rather than a reference taken before and after: on a shared VM the
 * speed drifts by a third over seconds and not in a straight line, so
 * the mean of two ends can miss what happened in between; slices see the
 * same machine to within a second.
 *
 * Every request carries a nonce of its own: the DER is encoded once per
 * client and certificate and the nonce's bytes are rewritten in place
 * (client, sequence number) before each send, which costs nothing and
 * keeps a server from answering from a cache.  Every response must be a
 * 200 with a body; every SAMPLE-th of each client is parsed and checked
 * against the CA (signature, the certificate's status, the nonce, the
 * times), so a broken server can not look fast.
 *
 * Usage: bench-ocsp [seconds-per-figure] [clients] [hallmark-binary]
 *            [key-type]
 * (default: 3 8, the hallmark next to this program, p256)
 */
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "hallmark/hallmark.h"
#include "bench.h"
#include "internal.h"	/* the signer's key, certificate and context */

#define NCERT		8	/* leaf certificates; the first revoked */
#define REVOKED		0
#define SLICE		0.25	/* seconds */
#define SAMPLE		64	/* check one response in SAMPLE */
#define NONCE_LEN	16
#define BODY_MAX	8192	/* response body */

struct fixture {
	hm_ca		*ca;
	hm_signer	*s;		/* the root: key and certificate */
	hm_responder	*r;		/* for (c) */
	X509		*leaf[NCERT];
	X509_STORE	*trust;		/* the root */
	STACK_OF(X509)	*signers;	/* the root, as the signer */
};

/* One request, HTTP head and DER body in one buffer, sent as it is. */
struct req {
	unsigned char	*msg;
	size_t		 len;
	size_t		 body;		/* where the DER starts */
	size_t		 nonce;		/* where the nonce's bytes are */
};

struct bench;

struct client {
	struct bench	*b;
	uint32_t	 id;
	struct req	 rq[NCERT];
	int		 next;		/* the leaf asked about next */
	uint64_t	 seq;
	long		 checked;
	struct http	 conn;
	unsigned char	 buf[HTTP_HEAD_MAX + BODY_MAX];	/* conn's */
	char		 why[256];	/* set: this client failed */
};

struct bench {
	const struct fixture	*f;
	unsigned		 port;
	struct crew		 crew;
	struct client		*c;
};

/* Seconds the server has run on a CPU (its one thread), or -1. */
static double
server_cpu(void)
{
	char		 path[64], line[128];
	unsigned long long ns;
	FILE		*fp;
	int		 ok;

	snprintf(path, sizeof(path), "/proc/%ld/schedstat", (long)server_pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	ok = fgets(line, sizeof(line), fp) != NULL &&
	    sscanf(line, "%llu", &ns) == 1;
	fclose(fp);
	return ok ? (double)ns / 1e9 : -1;
}

static X509 *
read_cert(const char *path)
{
	X509	*x;
	FILE	*fp;

	if ((fp = fopen(path, "r")) == NULL)
		fail("%s: %s", path, strerror(errno));
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (x == NULL)
		fail("%s: not a certificate", path);
	return x;
}

/* A CA made with the CLI, NCERT leaves, the first revoked. */
static void
setup(struct fixture *f, const char *hm, const char *kt)
{
	const char	*init[] = { hm, "-d", tmpdir, "init", "--cn",
			    "Bench OCSP Root", "--key-type", kt, NULL };
	const char	*issue[] = { hm, "-d", tmpdir, "issue", "--profile",
			    "server", "--new-key", NULL, "--san", NULL, "-o",
			    NULL, NULL };
	const char	*revoke[] = { hm, "-d", tmpdir, "revoke", NULL,
			    "--reason", "keyCompromise", NULL };
	char		 key[128], san[64], pem[128], serial[41];
	hm_err		 err;
	int		 i;

	run(init);
	for (i = 0; i < NCERT; i++) {
		snprintf(key, sizeof(key), "%s/leaf%d.key", tmpdir, i);
		snprintf(san, sizeof(san), "dns:leaf%d.bench.example", i);
		snprintf(pem, sizeof(pem), "%s/leaf%d.pem", tmpdir, i);
		issue[7] = key;
		issue[9] = san;
		issue[11] = pem;
		run(issue);
		f->leaf[i] = read_cert(pem);
	}
	if (hm_x509_serial_hex(f->leaf[REVOKED], serial) == -1)
		fail("serial of leaf %d", REVOKED);
	revoke[4] = serial;
	run(revoke);

	if (hm_ca_open(tmpdir, &f->ca, &err) != HM_OK ||
	    hm_ca_signer(f->ca, NULL, NULL, &f->s, &err) != HM_OK ||
	    hm_responder_new(f->ca, NULL, NULL, &f->r, &err) != HM_OK)
		fail("CA: %s", err.msg);
	if ((f->trust = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(f->trust, f->s->cert) != 1 ||
	    (f->signers = sk_X509_new_null()) == NULL ||
	    sk_X509_push(f->signers, f->s->cert) <= 0)
		fail("trust store");
}

static void
fixture_free(struct fixture *f)
{
	int	i;

	sk_X509_free(f->signers);	/* borrowed from f->s */
	X509_STORE_free(f->trust);
	for (i = 0; i < NCERT; i++)
		X509_free(f->leaf[i]);
	hm_responder_free(f->r);
	hm_signer_free(f->s);
	hm_ca_close(f->ca);
}

/* The request about leaf i with a nonce, after an HTTP head for port. */
static void
req_build(const struct fixture *f, int i, unsigned port, struct req *rq)
{
	OCSP_REQUEST	*q;
	OCSP_CERTID	*id;
	unsigned char	 mark[NONCE_LEN], *der = NULL, *at;
	char		 head[256];
	int		 n, h;

	if ((q = OCSP_REQUEST_new()) == NULL ||
	    (id = OCSP_cert_to_id(EVP_sha1(), f->leaf[i], f->s->cert)) ==
	    NULL)
		fail("OCSP request");
	if (OCSP_request_add0_id(q, id) == NULL) {
		OCSP_CERTID_free(id);
		fail("OCSP request");
	}
	/* A random mark to find where the nonce's bytes are in the DER. */
	if (RAND_bytes(mark, sizeof(mark)) != 1 ||
	    !OCSP_request_add1_nonce(q, mark, sizeof(mark)) ||
	    (n = i2d_OCSP_REQUEST(q, &der)) <= 0 ||
	    (at = memmem(der, (size_t)n, mark, sizeof(mark))) == NULL)
		fail("OCSP request");
	h = snprintf(head, sizeof(head), "POST /ocsp HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%u\r\nContent-Type: application/ocsp-request\r\n"
	    "Content-Length: %d\r\n\r\n", port, n);
	if (h <= 0 || (size_t)h >= sizeof(head) ||
	    (rq->msg = malloc((size_t)h + (size_t)n)) == NULL)
		fail("HTTP request");
	memcpy(rq->msg, head, (size_t)h);
	memcpy(rq->msg + h, der, (size_t)n);
	rq->len = (size_t)h + (size_t)n;
	rq->body = (size_t)h;
	rq->nonce = (size_t)h + (size_t)(at - der);
	OPENSSL_free(der);
	OCSP_REQUEST_free(q);
}

/* A nonce of its own: client id, sequence number, the random rest. */
static void
nonce_set(unsigned char *p, uint32_t id, uint64_t seq)
{
	memcpy(p, &id, sizeof(id));
	memcpy(p + sizeof(id), &seq, sizeof(seq));
}

/*
 * The response resp to the request req about leaf i: successful, signed
 * by the CA, with leaf i's status, the nonce of req, current times.
 * *tbslen (if not NULL) gets the size of what was signed.
 */
static int
check_response(const struct fixture *f, const unsigned char *req,
    size_t reqlen, int i, const unsigned char *resp, size_t resplen,
    size_t *tbslen, char *why, size_t whylen)
{
	const unsigned char	*p;
	ASN1_GENERALIZEDTIME	*thisupd, *nextupd, *revt;
	OCSP_REQUEST		*q = NULL;
	OCSP_RESPONSE		*o = NULL;
	OCSP_BASICRESP		*bs = NULL;
	OCSP_CERTID		*id = NULL;
	const char		*bad = NULL;
	int			 status, reason, n = 0, rc = -1;

	p = req;
	if ((q = d2i_OCSP_REQUEST(NULL, &p, (long)reqlen)) == NULL) {
		bad = "the request does not parse";
		goto out;
	}
	p = resp;
	if ((o = d2i_OCSP_RESPONSE(NULL, &p, (long)resplen)) == NULL ||
	    p != resp + resplen)
		bad = "the response does not parse";
	else if (OCSP_response_status(o) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
		bad = "the response is not successful";
	else if ((bs = OCSP_response_get1_basic(o)) == NULL)
		bad = "no basic response";
	else if (OCSP_basic_verify(bs, f->signers, f->trust, 0) != 1)
		bad = "the response does not verify against the CA";
	else if (OCSP_check_nonce(q, bs) != 1)
		bad = "the response does not echo the nonce";
	else if ((id = OCSP_cert_to_id(EVP_sha1(), f->leaf[i],
	    f->s->cert)) == NULL ||
	    OCSP_resp_find_status(bs, id, &status, &reason, &revt, &thisupd,
	    &nextupd) != 1)
		bad = "the response does not name the certificate asked about";
	else if (status != (i == REVOKED ? V_OCSP_CERTSTATUS_REVOKED :
	    V_OCSP_CERTSTATUS_GOOD))
		bad = "wrong certificate status";
	else if (OCSP_check_validity(thisupd, nextupd, 300, -1) != 1)
		bad = "thisUpdate or nextUpdate out of range";
	else if (tbslen != NULL && (n = i2d_OCSP_RESPDATA(
	    OCSP_resp_get0_respdata(bs), NULL)) <= 0)
		bad = "tbsResponseData does not encode";
	if (bad != NULL)
		goto out;
	if (tbslen != NULL)
		*tbslen = (size_t)n;
	rc = 0;
 out:
	if (bad != NULL) {
		snprintf(why, whylen, "leaf %d: %s", i, bad);
		ERR_clear_error();
	}
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(o);
	OCSP_REQUEST_free(q);
	return rc;
}

/* One request and its response, checked: crew_fn. */
static int
client_one(void *arg)
{
	struct client		*c = arg;
	struct req		*rq = &c->rq[c->next];
	const unsigned char	*body;
	size_t			 blen;
	int			 status = 0, closing = 0;

	if (c->conn.fd == -1 && http_connect(&c->conn) != 0)
		return -1;
	nonce_set(rq->msg + rq->nonce, c->id, c->seq);
	if (http_roundtrip(&c->conn, rq->msg, rq->len, &status, &body, &blen,
	    &closing) != 0)
		return -1;
	if (status != 200 || blen == 0) {
		snprintf(c->why, sizeof(c->why), "HTTP %d with %zu bytes",
		    status, blen);
		return -1;
	}
	if (c->seq % SAMPLE == 0) {
		if (check_response(c->b->f, rq->msg + rq->body,
		    rq->len - rq->body, c->next, body, blen, NULL, c->why,
		    sizeof(c->why)) != 0)
			return -1;
		c->checked++;
	}
	if (closing)
		http_close(&c->conn);
	c->seq++;
	c->next = (c->next + 1) % NCERT;
	return 0;
}

/* (a): signatures of a tbslen-byte message in about secs seconds. */
static long
raw_sign(const struct fixture *f, EVP_MD_CTX *tmp, size_t tbslen,
    double secs, double *t)
{
	unsigned char	 msg[2048], sig[1024];
	size_t		 siglen;
	double		 t0;
	long		 n = 0;

	memset(msg, 0x5a, sizeof(msg));
	if (tbslen > sizeof(msg))
		tbslen = sizeof(msg);
	t0 = now();
	do {
		siglen = sizeof(sig);
		if (EVP_MD_CTX_copy_ex(tmp, f->s->sign_tmpl) != 1 ||
		    EVP_DigestSign(tmp, sig, &siglen, msg, tbslen) != 1)
			fail("raw signature");
		n++;
	} while ((*t = now() - t0) < secs);
	return n;
}

/* (c): hm_ocsp_respond on the requests rq, in about secs seconds. */
static long
in_process(const struct fixture *f, struct req *rq, uint64_t *seq,
    double secs, double *t)
{
	unsigned char	*resp;
	size_t		 len;
	hm_err		 err;
	double		 t0;
	long		 n = 0;
	int		 i;

	t0 = now();
	do {
		i = (int)(*seq % NCERT);
		nonce_set(rq[i].msg + rq[i].nonce, UINT32_MAX, (*seq)++);
		if (hm_ocsp_respond(f->r, rq[i].msg + rq[i].body,
		    rq[i].len - rq[i].body, &resp, &len, &err) != HM_OK)
			fail("hm_ocsp_respond: %s", err.msg);
		free(resp);
		n++;
	} while ((*t = now() - t0) < secs);
	return n;
}

/* One in-process response checked: the size of what the server signs. */
static size_t
tbs_size(const struct fixture *f, struct req *rq)
{
	unsigned char	*resp;
	size_t		 len, tbslen;
	hm_err		 err;
	char		 why[256];
	int		 i;

	for (i = 0; i < NCERT; i++) {
		nonce_set(rq[i].msg + rq[i].nonce, UINT32_MAX - 1, (uint64_t)i);
		if (hm_ocsp_respond(f->r, rq[i].msg + rq[i].body,
		    rq[i].len - rq[i].body, &resp, &len, &err) != HM_OK)
			fail("hm_ocsp_respond: %s", err.msg);
		if (check_response(f, rq[i].msg + rq[i].body,
		    rq[i].len - rq[i].body, i, resp, len, &tbslen, why,
		    sizeof(why)) != 0)
			fail("hm_ocsp_respond: %s", why);
		free(resp);
	}
	return tbslen;
}

int
main(int argc, char **argv)
{
	struct fixture		 f;
	struct bench		 b;
	cpu_set_t		 srv;
	EVP_MD_CTX		*tmp;
	struct req		 rq[NCERT];
	char			 hm[PATH_MAX];
	const char		*kt = argc > 4 ? argv[4] : "p256";
	double			 secs, t, ta, tb, tc, a, bb, cc, cpu, busy;
	long			 n, na, nb, nc, checked = 0;
	uint64_t		 seq = 0;
	size_t			 tbslen;
	int			 i, j, k, rounds, core, st, clients;

	memset(&b, 0, sizeof(b));
	crew_args(argc, argv, "8", &secs, &clients, hm, sizeof(hm));
	crew_init(&b.crew, clients, client_one, server_cpu);

	bench_begin("ocsp");
	memset(&f, 0, sizeof(f));
	setup(&f, hm, kt);

	/* The server, (a) and (c) on the first core; clients on the rest. */
	core = cores_split(&srv, &b.crew.cpus, &b.crew.pin);
	b.f = &f;
	b.port = server_start(hm, &srv);

	for (i = 0; i < NCERT; i++)
		req_build(&f, i, b.port, &rq[i]);
	tbslen = tbs_size(&f, rq);
	if ((tmp = EVP_MD_CTX_new()) == NULL)
		fail("out of memory");

	if ((b.c = calloc((size_t)b.crew.n, sizeof(*b.c))) == NULL)
		fail("out of memory");
	for (i = 0; i < b.crew.n; i++) {
		b.c[i].b = &b;
		b.c[i].id = (uint32_t)i;
		http_init(&b.c[i].conn, b.port, b.c[i].buf, BODY_MAX,
		    b.c[i].why, sizeof(b.c[i].why));
		b.c[i].next = i % NCERT;
		for (j = 0; j < NCERT; j++)
			req_build(&f, j, b.port, &b.c[i].rq[j]);
		crew_set(&b.crew, i, &b.c[i], &b.c[i].conn);
	}
	crew_start(&b.crew);

	/* A round uncounted: connections made, caches warm. */
	rounds = (int)(secs / SLICE + 0.5);
	na = nb = nc = 0;
	ta = tb = tc = busy = 0;
	for (k = -1; k < rounds && !interrupted; k++) {
		n = raw_sign(&f, tmp, tbslen, SLICE, &t);
		if (k >= 0) {
			na += n;
			ta += t;
		}
		/* (b): the whole slice, whatever the clients do. */
		n = crew_slice(&b.crew, SLICE, 0, &t, &cpu);
		if (k >= 0) {
			nb += n;
			tb += t;
			busy += cpu;
		}
		n = in_process(&f, rq, &seq, SLICE, &t);
		if (k >= 0) {
			nc += n;
			tc += t;
		}
	}

	crew_stop(&b.crew);
	for (i = 0; i < b.crew.n; i++) {
		checked += b.c[i].checked;
		for (j = 0; j < NCERT; j++)
			free(b.c[i].rq[j].msg);
	}
	if (interrupted)
		fail("interrupted");
	st = server_stop();
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("the server did not exit cleanly on SIGTERM");

	a = (double)na / ta;
	bb = (double)nb / tb;
	cc = (double)nc / tc;
	printf("(a) raw %s sign, CA key, %zu-byte TBS %9.0f sig/s   "
	    "(reference)\n", kt, tbslen, a);
	/* Busy below 100 %: the clients or the machine's other work. */
	printf("(b) OCSP over HTTP, %3d clients      %9.0f resp/s  "
	    "%5.1f %% of (a)  server busy %.0f %%, %.0f us CPU/resp\n",
	    b.crew.n, bb, 100 * bb / a, 100 * busy / tb,
	    nb > 0 ? busy / (double)nb * 1e6 : 0);
	printf("(c) hm_ocsp_respond in process       %9.0f resp/s  "
	    "%5.1f %% of (a)\n", cc, 100 * cc / a);
	printf("    %ld of %ld HTTP responses checked (signature, status, "
	    "nonce); server on core %d%s\n", checked, b.crew.total, core,
	    b.crew.pin ? ", clients on the others" : ", clients too");

	for (i = 0; i < NCERT; i++)
		free(rq[i].msg);
	EVP_MD_CTX_free(tmp);
	free(b.c);
	crew_free(&b.crew);
	fixture_free(&f);
	return 0;
}
