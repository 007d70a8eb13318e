/*
 * lib/enroll_srv.c: hm_enroll_answer, the CA's side of enrollment, in
 * process against a real CA (a root and an intermediate), its responder,
 * tokens from hm_token_new and requests sealed by the real client.  A
 * certificate of each key type carries the token's names and profile and
 * nothing the request asked for beyond them; an identical retry gets the
 * same bytes, any other request with a used token a sealed "used"; every
 * bit flip and truncation is refused and leaves no trace; an unknown id
 * and a wrong PSK get the same answer at the same cost; each refusal is
 * sealed with its reason, the token's state before the CSR; replies do
 * not open for another request or as a request; of eight racing requests
 * for one token exactly one wins, and a token revoked while a request
 * waits for the store is refused as revoked.
 *
 * Not covered: a request whose plaintext breaks section 1.5 (reason 6).
 * hm_enroll_req_seal always writes one well-formed CSR item and the
 * codec has no call that seals another plaintext, so such a request can
 * not be made here without a second implementation of the AEAD.
 */
#include <arpa/inet.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "testutil.h"

#define CA_DIR		"srv"
#define RACERS		8
#define TIMING_RUNS	200

static hm_ca		*ca;
static hm_signer	*root, *issuing;
static hm_responder	*resp;

/* ---- helpers ------------------------------------------------------------ */

/* "dns:a,ip:10.0.0.1" (or NULL: none) as an hm_names. */
static hm_names *
names(const char *csv)
{
	hm_names	*n;
	char		 buf[1024], *p, *save = NULL;
	hm_err		 err;

	assert_non_null(n = hm_names_new());
	if (csv == NULL || *csv == '\0')
		return n;
	snprintf(buf, sizeof(buf), "%s", csv);
	for (p = strtok_r(buf, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save))
		HM_CHECK(hm_names_add(n, p, &err), &err);
	return n;
}

/* A pending token of the intermediate for name, profile and sans. */
static void
token_new(const char *name, hm_profile_id profile, const char *sans,
    int64_t ttl, char tok[HM_TOKEN_LEN + 1], hm_token_info *ti)
{
	hm_token_params	 p;
	hm_names	*n = names(sans);
	hm_err		 err;

	memset(&p, 0, sizeof(p));
	p.ca = "issuing";
	p.name = name;
	p.profile = profile;
	p.sans = n;
	p.ttl = ttl;
	HM_CHECK(hm_token_new(ca, &p, tok, ti, &err), &err);
	hm_names_free(n);
}

static int
find_cb(const hm_token_info *ti, void *arg)
{
	hm_token_info	*want = arg;

	if (strcmp(ti->id, want->id) == 0) {
		*want = *ti;
		return 1;
	}
	return 0;
}

/* The token id as hm_token_list shows it now. */
static hm_token_info
token_now(const char *id)
{
	hm_token_info	ti;
	hm_err		err;

	memset(&ti, 0, sizeof(ti));
	snprintf(ti.id, sizeof(ti.id), "%s", id);
	assert_int_equal(hm_token_list(ca, find_cb, &ti, &err), 1);
	return ti;
}

static void
assert_state(const char *id, const char *state)
{
	hm_token_info	ti = token_now(id);

	assert_string_equal(ti.state, state);
	if (strcmp(state, "used") != 0) {
		assert_int_equal(ti.used_at, 0);
		assert_string_equal(ti.serial, "");
	}
}

struct count {
	const char	*subject;	/* NULL: every certificate */
	size_t		 n;
};

static int
count_cb(const hm_cert_info *ci, void *arg)
{
	struct count	*c = arg;

	if (c->subject == NULL || strcmp(ci->subject, c->subject) == 0)
		c->n++;
	return 0;
}

/* Certificates in the inventory (with this subject, if not NULL). */
static size_t
ncerts(hm_ca *c, const char *subject)
{
	hm_list_filter	 f;
	struct count	 n = { subject, 0 };
	hm_err		 err;

	memset(&f, 0, sizeof(f));
	HM_CHECK(hm_cert_list(c, &f, count_cb, &n, &err), &err);
	return n.n;
}

/* hm_enroll_answer as `hallmark serve` calls it: the HTTP status. */
static int
answer(hm_responder *r, const unsigned char *req, size_t len,
    unsigned char **rep, size_t *replen)
{
	hm_err	err;
	int	http = -1;

	HM_CHECK(hm_enroll_answer(r, req, len, rep, replen, &http, &err),
	    &err);
	assert_true(strlen(err.msg) > 0);	/* a line for the log */
	if (http == 200) {
		assert_non_null(*rep);
		assert_true(*replen > HM_ENROLL_REP_HDR);
		assert_true(*replen <= HM_ENROLL_MAX);
	} else {
		assert_null(*rep);
		assert_int_equal(*replen, 0);
	}
	return http;
}

/* The status of an answer whose body is of no interest. */
static int
answer_status(const unsigned char *req, size_t len)
{
	unsigned char	*rep;
	size_t		 replen;
	int		 http;

	http = answer(resp, req, len, &rep, &replen);
	free(rep);
	return http;
}

static hm_key *
key_new(hm_keytype t)
{
	hm_key	*k;
	hm_err	 err;

	HM_CHECK(hm_key_generate(t, &k, &err), &err);
	return k;
}

/* A CSR for key naming cn (may be NULL) and sans (may be NULL). */
static hm_csr *
csr_new(const hm_key *key, const char *cn, const char *sans)
{
	hm_names	*n = names(sans);
	hm_csr		*c;
	hm_err		 err;

	HM_CHECK(hm_csr_new_any(key, cn, n, &c, &err), &err);
	hm_names_free(n);
	return c;
}

/* The client's request with tok for key, cn and sans. */
static hm_enroll *
enroll_new(const char *tok, const hm_key *key, const char *cn,
    const char *sans)
{
	hm_enroll	*e;
	hm_csr		*c = csr_new(key, cn, sans);
	hm_err		 err;

	HM_CHECK(hm_enroll_new(tok, c, &e, &err), &err);
	hm_csr_free(c);
	return e;
}

/*
 * Open rep, the answer to req made with tok, with the codec (not the
 * client): a refusal's code, its message into msg.
 */
static unsigned
refusal(const char *tok, const unsigned char *req, size_t reqlen,
    const unsigned char *rep, size_t replen, char msg[HM_ENROLL_MSG_MAX + 1])
{
	struct hm_enroll_req	 h;
	struct hm_enroll_reply	 r;
	unsigned char		 id[HM_PSK_ID_LEN], psk[HM_PSK_LEN];
	unsigned char		 hash[HM_ENROLL_HASH_LEN];
	unsigned		 code;
	hm_err			 err;

	HM_CHECK(hm_token_parse(tok, id, psk, &err), &err);
	HM_CHECK(hm_enroll_req_parse(req, reqlen, &h, &err), &err);
	HM_CHECK(hm_enroll_hash(req, reqlen, hash, &err), &err);
	HM_CHECK(hm_enroll_rep_open(psk, id, h.nonce_c, hash, rep, replen, &r,
	    &err), &err);
	assert_int_equal(r.status, HM_ENROLL_REFUSED);
	code = r.code;
	snprintf(msg, HM_ENROLL_MSG_MAX + 1, "%s", r.msg);
	hm_enroll_reply_clear(&r);
	return code;
}

/*
 * Send e's request: a sealed refusal with code and msg, which the client
 * opens and reports as such.
 */
static void
expect_refused(hm_enroll *e, const hm_key *key, const char *tok,
    unsigned code, const char *msg)
{
	const unsigned char	*req;
	unsigned char		*rep;
	size_t			 reqlen, replen;
	char			 got[HM_ENROLL_MSG_MAX + 1], want[512];
	hm_err			 err;

	req = hm_enroll_request(e, &reqlen);
	assert_int_equal(answer(resp, req, reqlen, &rep, &replen), 200);
	assert_int_equal(refusal(tok, req, reqlen, rep, replen, got), code);
	assert_string_equal(got, msg);
	assert_int_equal(hm_enroll_finish(e, key, rep, replen, &err),
	    HM_E_REFUSED);
	snprintf(want, sizeof(want), "the CA refused: %s (%s)", msg,
	    hm_enroll_reason_name(code));
	assert_string_equal(err.msg, want);
	assert_null(hm_enroll_cert_pem(e));
	free(rep);
}

/* The certificates of a PEM text, in order. */
static STACK_OF(X509) *
pem_certs(const char *pem)
{
	STACK_OF(X509)	*sk;
	BIO		*b;
	X509		*x;
	int		 i;

	assert_non_null(sk = sk_X509_new_null());
	assert_non_null(b = BIO_new_mem_buf(pem, -1));
	for (i = 0; i < 16 && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) !=
	    NULL; i++)
		assert_true(sk_X509_push(sk, x) > 0);
	ERR_clear_error();
	BIO_free(b);
	return sk;
}

/* The SANs of x as an hm_names, for comparison with a token's. */
static hm_names *
cert_names(X509 *x)
{
	GENERAL_NAMES	*gens;
	GENERAL_NAME	*g;
	hm_names	*n;
	char		 ip[INET6_ADDRSTRLEN], dns[256];
	hm_err		 err;
	int		 i, len;

	assert_non_null(n = hm_names_new());
	if ((gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL,
	    NULL)) == NULL)
		return n;
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS) {
			snprintf(dns, sizeof(dns), "%.*s",
			    ASN1_STRING_length(g->d.dNSName), (const char *)
			    ASN1_STRING_get0_data(g->d.dNSName));
			HM_CHECK(hm_names_add_typed(n, HM_NAME_DNS, dns, &err),
			    &err);
			continue;
		}
		assert_int_equal(g->type, GEN_IPADD);
		len = ASN1_STRING_length(g->d.iPAddress);
		assert_true(len == 4 || len == 16);
		assert_non_null(inet_ntop(len == 4 ? AF_INET : AF_INET6,
		    ASN1_STRING_get0_data(g->d.iPAddress), ip, sizeof(ip)));
		HM_CHECK(hm_names_add_typed(n, HM_NAME_IP, ip, &err), &err);
	}
	/* No name twice: a count compares the lists as sets. */
	assert_int_equal(hm_names_count(n), (size_t)i);
	GENERAL_NAMES_free(gens);
	return n;
}

static int
has_name(const hm_names *n, hm_name_type t, const char *v)
{
	hm_name_type	 u;
	const char	*w;
	size_t		 i;

	for (i = 0; hm_names_get(n, i, &u, &w) == HM_OK; i++)
		if (t == u && strcmp(v, w) == 0)
			return 1;
	return 0;
}

/*
 * The certificate e received is the token ti's: its CN alone as subject,
 * its SANs exactly, its profile's EKU, issued by the intermediate, a
 * chain that verifies to our root, in the inventory, and the token used
 * for it.
 */
static void
check_issued(const hm_enroll *e, const hm_token_info *ti, const hm_key *key)
{
	STACK_OF(X509)	*leaf, *chain, *bundle;
	X509_STORE	*st;
	X509_STORE_CTX	*ctx;
	X509_NAME	*subj;
	X509		*x;
	hm_names	*want, *got;
	hm_name_type	 t;
	hm_cert_info	 ci;
	hm_token_info	 now;
	const char	*v;
	char		 cn[128], serial[41], subject[128];
	uint32_t	 eku;
	size_t		 i;
	hm_err		 err;

	leaf = pem_certs(hm_enroll_cert_pem(e));
	chain = pem_certs(hm_enroll_chain_pem(e));
	bundle = pem_certs(hm_enroll_ca_pem(e));
	assert_int_equal(sk_X509_num(leaf), 1);
	x = sk_X509_value(leaf, 0);

	/* The key is the client's (hm_enroll_finish checked it, too). */
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), key->pkey), 1);

	/* Subject: the token's CN and nothing else. */
	subj = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_entry_count(subj), 1);
	assert_true(X509_NAME_get_text_by_NID(subj, NID_commonName, cn,
	    sizeof(cn)) > 0);
	assert_string_equal(cn, ti->name);

	/* SANs: exactly the token's, whatever the CSR asked for. */
	want = names(ti->sans);
	got = cert_names(x);
	assert_int_equal(hm_names_count(got), hm_names_count(want));
	for (i = 0; hm_names_get(got, i, &t, &v) == HM_OK; i++)
		assert_true(has_name(want, t, v));
	hm_names_free(want);
	hm_names_free(got);

	/* The profile's extended key usage. */
	assert_true(X509_get_extension_flags(x) & EXFLAG_XKUSAGE);
	eku = X509_get_extended_key_usage(x);
	if (strcmp(ti->profile, "server") == 0)
		assert_int_equal(eku, XKU_SSL_SERVER);
	else if (strcmp(ti->profile, "client") == 0)
		assert_int_equal(eku, XKU_SSL_CLIENT);
	else {
		assert_string_equal(ti->profile, "both");
		assert_int_equal(eku, XKU_SSL_SERVER | XKU_SSL_CLIENT);
	}
	assert_false(X509_check_ca(x));

	/* Issued and signed by the token's CA. */
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(issuing->cert)), 0);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(issuing->cert)), 1);
	assert_int_equal(X509_check_issued(issuing->cert, x), X509_V_OK);

	/* The chain sent: the intermediate, then our root as the bundle. */
	assert_int_equal(sk_X509_num(chain), 1);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 0), issuing->cert), 0);
	assert_int_equal(sk_X509_num(bundle), 1);
	assert_int_equal(X509_cmp(sk_X509_value(bundle, 0), root->root), 0);

	/* It verifies to the root we trust, for the profile's purpose. */
	assert_non_null(st = X509_STORE_new());
	assert_int_equal(X509_STORE_add_cert(st, root->root), 1);
	assert_non_null(ctx = X509_STORE_CTX_new());
	assert_int_equal(X509_STORE_CTX_init(ctx, st, x, chain), 1);
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
	assert_int_equal(X509_STORE_CTX_set_purpose(ctx,
	    strcmp(ti->profile, "client") == 0 ? X509_PURPOSE_SSL_CLIENT :
	    X509_PURPOSE_SSL_SERVER), 1);
	if (X509_verify_cert(ctx) != 1)
		fail_msg("chain: %s", X509_verify_cert_error_string(
		    X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);

	/* In the inventory, as the token's CA and profile issued it. */
	assert_int_equal(hm_x509_serial_hex(x, serial), 0);
	HM_CHECK(hm_cert_lookup(ca, serial, &ci, NULL, &err), &err);
	assert_string_equal(ci.ca, "issuing");
	assert_string_equal(ci.profile, ti->profile);
	assert_string_equal(ci.sans, ti->sans);
	assert_string_equal(ci.status, "valid");
	snprintf(subject, sizeof(subject), "CN=%s", ti->name);
	assert_string_equal(ci.subject, subject);
	assert_int_equal(ncerts(ca, subject), 1);

	/* The token: used, for this certificate. */
	now = token_now(ti->id);
	assert_string_equal(now.state, "used");
	assert_string_equal(now.serial, serial);
	assert_true(now.used_at >= ti->created_at);
	assert_true(now.used_at <= time(NULL));

	sk_X509_pop_free(leaf, X509_free);
	sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(bundle, X509_free);
}

/* ---- setup ------------------------------------------------------------- */

static int
setup(void **state)
{
	hm_ca_params	 p;
	hm_cert		*c;
	hm_err		 err;

	(void)state;
	tu_root_ca(CA_DIR, "Enroll Server Root", &ca, &root);
	memset(&p, 0, sizeof(p));
	p.name = "issuing";
	p.parent = HM_ROOT_NAME;
	p.cn = "Enroll Server Issuing";
	p.key_type = HM_KEY_P256;
	p.pathlen = 0;
	HM_CHECK(hm_ca_new_intermediate(ca, root, &p, &c, NULL, &err), &err);
	hm_cert_free(c);
	HM_CHECK(hm_ca_signer(ca, "issuing", NULL, &issuing, &err), &err);
	HM_CHECK(hm_responder_new(ca, NULL, NULL, &resp, &err), &err);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hm_responder_free(resp);
	hm_signer_free(issuing);
	hm_signer_free(root);
	hm_ca_close(ca);
	return 0;
}

/* ---- 1. Issued, for each key type -------------------------------------- */

static void
test_issue(void **state)
{
	static const struct {
		hm_keytype	 type;
		const char	*name;
		hm_profile_id	 profile;
		const char	*sans;		/* the token's */
		const char	*csr_cn;	/* what the CSR asks for */
		const char	*csr_sans;
	} v[] = {
		/* A subset of the names: the token's all the same. */
		{ HM_KEY_ED25519, "ed.example", HM_PROFILE_SERVER,
		    "dns:ed.example,dns:www.ed.example,ip:192.0.2.1",
		    "ed.example", "dns:www.ed.example" },
		/* No name at all. */
		{ HM_KEY_P256, "p256-robot", HM_PROFILE_CLIENT, NULL,
		    NULL, NULL },
		/* Every name. */
		{ HM_KEY_P384, "p384.example", HM_PROFILE_BOTH,
		    "dns:p384.example,ip:2001:db8::1", "p384.example",
		    "dns:p384.example,ip:2001:db8::1" },
		/* SANs without the CN. */
		{ HM_KEY_RSA2048, "rsa.example", HM_PROFILE_SERVER,
		    "dns:rsa.example", NULL, "dns:rsa.example" },
	};
	const unsigned char	*req;
	unsigned char		*rep;
	hm_token_info		 ti;
	hm_enroll		*e;
	hm_key			*key;
	char			 tok[HM_TOKEN_LEN + 1];
	size_t			 i, reqlen, replen, before;
	hm_err			 err;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		token_new(v[i].name, v[i].profile, v[i].sans, 0, tok, &ti);
		key = key_new(v[i].type);
		e = enroll_new(tok, key, v[i].csr_cn, v[i].csr_sans);
		req = hm_enroll_request(e, &reqlen);
		before = ncerts(ca, NULL);
		assert_int_equal(answer(resp, req, reqlen, &rep, &replen),
		    200);
		assert_int_equal(ncerts(ca, NULL), before + 1);
		HM_CHECK(hm_enroll_finish(e, key, rep, replen, &err), &err);
		check_issued(e, &ti, key);
		free(rep);
		hm_enroll_free(e);
		hm_key_free(key);
	}
}

/* ---- 2. Retries and second uses ---------------------------------------- */

static void
test_retry_used(void **state)
{
	const unsigned char	*req;
	unsigned char		*rep, *rep2, id[HM_PSK_ID_LEN];
	unsigned char		 psk[HM_PSK_LEN], nonce[HM_ENROLL_NONCE_LEN];
	unsigned char		*body;
	hm_token_info		 ti, used;
	hm_enroll		*e, *e2;
	hm_key			*key, *key2;
	hm_csr			*csr;
	char			 tok[HM_TOKEN_LEN + 1];
	char			 msg[HM_ENROLL_MSG_MAX + 1];
	size_t			 reqlen, replen, replen2, bodylen, before;
	hm_err			 err;
	int			 i;

	(void)state;
	token_new("retry.example", HM_PROFILE_SERVER, "dns:retry.example", 0,
	    tok, &ti);
	key = key_new(HM_KEY_P256);
	e = enroll_new(tok, key, "retry.example", NULL);
	req = hm_enroll_request(e, &reqlen);
	assert_int_equal(answer(resp, req, reqlen, &rep, &replen), 200);
	before = ncerts(ca, NULL);
	used = token_now(ti.id);

	/* The same bytes again (a lost reply): the same bytes back. */
	for (i = 0; i < 3; i++) {
		assert_int_equal(answer(resp, req, reqlen, &rep2, &replen2),
		    200);
		assert_int_equal(replen2, replen);
		assert_memory_equal(rep2, rep, replen);
		free(rep2);
	}
	HM_CHECK(hm_enroll_finish(e, key, rep, replen, &err), &err);
	check_issued(e, &ti, key);
	assert_int_equal(ncerts(ca, NULL), before);

	/* The same CSR in a new request (a new nonce): used. */
	e2 = enroll_new(tok, key, "retry.example", NULL);
	expect_refused(e2, key, tok, HM_ENROLL_R_USED,
	    "this token was used by another request");
	hm_enroll_free(e2);
	/* Another key's CSR. */
	key2 = key_new(HM_KEY_ED25519);
	e2 = enroll_new(tok, key2, "retry.example", "dns:retry.example");
	expect_refused(e2, key2, tok, HM_ENROLL_R_USED,
	    "this token was used by another request");
	hm_enroll_free(e2);
	/* A CSR out of the scope: the token's state is looked at first. */
	e2 = enroll_new(tok, key2, "evil.example", "dns:evil.example");
	expect_refused(e2, key2, tok, HM_ENROLL_R_USED,
	    "this token was used by another request");
	hm_enroll_free(e2);
	/* The same CSR and a chosen nonce, twice: used both times. */
	HM_CHECK(hm_token_parse(tok, id, psk, &err), &err);
	HM_CHECK(hm_csr_new_any(key, "retry.example", NULL, &csr, &err),
	    &err);
	memset(nonce, 0xa5, sizeof(nonce));
	HM_CHECK(hm_enroll_req_seal(psk, id, nonce, csr->der, csr->derlen,
	    &body, &bodylen, &err), &err);
	for (i = 0; i < 2; i++) {
		assert_int_equal(answer(resp, body, bodylen, &rep2, &replen2),
		    200);
		assert_int_equal(refusal(tok, body, bodylen, rep2, replen2,
		    msg), HM_ENROLL_R_USED);
		free(rep2);
	}
	free(body);
	hm_csr_free(csr);

	/* Nothing new issued; the token still names the first serial. */
	assert_int_equal(ncerts(ca, NULL), before);
	assert_int_equal(ncerts(ca, "CN=retry.example"), 1);
	ti = token_now(ti.id);
	assert_string_equal(ti.state, "used");
	assert_string_equal(ti.serial, used.serial);
	assert_int_equal(ti.used_at, used.used_at);
	/* And the first request still gets its reply. */
	assert_int_equal(answer(resp, req, reqlen, &rep2, &replen2), 200);
	assert_int_equal(replen2, replen);
	assert_memory_equal(rep2, rep, replen);
	free(rep2);
	free(rep);
	hm_enroll_free(e);
	hm_key_free(key);
	hm_key_free(key2);
}

/* ---- 3. Bit flips ------------------------------------------------------ */

static void
test_bitflips(void **state)
{
	const unsigned char	*req;
	unsigned char		*b, *rep;
	hm_token_info		 ti;
	hm_enroll		*e;
	hm_key			*key;
	char			 tok[HM_TOKEN_LEN + 1];
	size_t			 reqlen, replen, i, before, n400 = 0, n403 = 0;
	hm_err			 err;
	int			 http;

	(void)state;
	token_new("flip.example", HM_PROFILE_SERVER, "dns:flip.example", 0,
	    tok, &ti);
	key = key_new(HM_KEY_ED25519);
	e = enroll_new(tok, key, "flip.example", "dns:flip.example");
	req = hm_enroll_request(e, &reqlen);
	before = ncerts(ca, NULL);
	assert_non_null(b = malloc(reqlen));
	for (i = 0; i < 8 * reqlen; i++) {
		memcpy(b, req, reqlen);
		b[i / 8] ^= (unsigned char)(1 << (i % 8));
		http = answer_status(b, reqlen);
		if (http == 400)
			n400++;
		else if (http == 403)
			n403++;
		else
			fail_msg("bit %zu: HTTP %d", i, http);
	}
	free(b);
	/*
	 * Magic, version, suite, reserved and n (12 bytes) are the header
	 * checked before any secret: 400.  Every other bit is in the id,
	 * the nonce, the ciphertext or the tag: 403, the one refusal.
	 */
	assert_int_equal(n400, 8 * 12);
	assert_int_equal(n403, 8 * reqlen - 8 * 12);
	assert_int_equal(ncerts(ca, NULL), before);
	assert_state(ti.id, "pending");

	/* The request as it was sent still succeeds. */
	assert_int_equal(answer(resp, req, reqlen, &rep, &replen), 200);
	HM_CHECK(hm_enroll_finish(e, key, rep, replen, &err), &err);
	check_issued(e, &ti, key);
	free(rep);
	hm_enroll_free(e);
	hm_key_free(key);
}

/* ---- 4. Truncations and sizes ------------------------------------------ */

static void
test_truncated_oversize(void **state)
{
	const unsigned char	*req;
	unsigned char		*b;
	hm_token_info		 ti;
	hm_enroll		*e;
	hm_key			*key;
	char			 tok[HM_TOKEN_LEN + 1];
	size_t			 reqlen, i, before;
	int			 http;

	(void)state;
	token_new("cut.example", HM_PROFILE_CLIENT, NULL, 0, tok, &ti);
	key = key_new(HM_KEY_P256);
	e = enroll_new(tok, key, "cut.example", NULL);
	req = hm_enroll_request(e, &reqlen);
	before = ncerts(ca, NULL);
	/* Every shorter body, as its own allocation (ASan sees overreads). */
	for (i = 0; i < reqlen; i++) {
		assert_non_null(b = malloc(i > 0 ? i : 1));
		memcpy(b, req, i);
		http = answer_status(b, i);
		if (http != 400 && http != 403)
			fail_msg("%zu bytes: HTTP %d", i, http);
		free(b);
	}
	/* One byte more than n says. */
	assert_non_null(b = malloc(reqlen + 1));
	memcpy(b, req, reqlen);
	b[reqlen] = 0;
	assert_int_equal(answer_status(b, reqlen + 1), 400);
	free(b);

	/*
	 * The largest body, HM_ENROLL_MAX, with a well-formed header for the
	 * real id: read and refused (403); a byte more: 413, unread.
	 */
	assert_non_null(b = calloc(1, HM_ENROLL_MAX + 1));
	memcpy(b, req, HM_ENROLL_REQ_HDR);
	assert_int_equal(RAND_bytes(b + HM_ENROLL_REQ_HDR,
	    HM_ENROLL_MAX + 1 - HM_ENROLL_REQ_HDR), 1);
	b[50] = (HM_ENROLL_MAX - HM_ENROLL_REQ_HDR) >> 24;
	b[51] = (unsigned char)((HM_ENROLL_MAX - HM_ENROLL_REQ_HDR) >> 16);
	b[52] = (unsigned char)((HM_ENROLL_MAX - HM_ENROLL_REQ_HDR) >> 8);
	b[53] = (unsigned char)(HM_ENROLL_MAX - HM_ENROLL_REQ_HDR);
	assert_int_equal(answer_status(b, HM_ENROLL_MAX), 403);
	b[50] = (HM_ENROLL_MAX + 1 - HM_ENROLL_REQ_HDR) >> 24;
	b[51] = (unsigned char)((HM_ENROLL_MAX + 1 - HM_ENROLL_REQ_HDR) >> 16);
	b[52] = (unsigned char)((HM_ENROLL_MAX + 1 - HM_ENROLL_REQ_HDR) >> 8);
	b[53] = (unsigned char)(HM_ENROLL_MAX + 1 - HM_ENROLL_REQ_HDR);
	assert_int_equal(answer_status(b, HM_ENROLL_MAX + 1), 413);
	/* The real request followed by padding up to the limit and over. */
	memcpy(b, req, reqlen);
	assert_int_equal(answer_status(b, HM_ENROLL_MAX + 1), 413);
	free(b);

	assert_int_equal(ncerts(ca, NULL), before);
	assert_state(ti.id, "pending");
	assert_int_equal(answer_status(req, reqlen), 200);
	hm_enroll_free(e);
	hm_key_free(key);
}

/* ---- 5. Unknown ids and wrong PSKs ------------------------------------- */

static double
now_s(void)
{
	struct timespec	ts;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void
test_unknown_wrong_psk(void **state)
{
	static double		 tu[TIMING_RUNS], tw[TIMING_RUNS];
	const unsigned char	*ru, *rw;
	unsigned char		 id[HM_PSK_ID_LEN], psk[HM_PSK_LEN];
	unsigned char		 uid[HM_PSK_ID_LEN];
	hm_token_info		 ti;
	hm_enroll		*eu, *ew;
	hm_key			*key;
	hm_csr			*csr;
	char			 tok[HM_TOKEN_LEN + 1], bad[HM_TOKEN_LEN + 1];
	char			 unk[HM_TOKEN_LEN + 1];
	size_t			 ulen, wlen, i, before;
	double			 t0, mu, mw;
	hm_err			 err;

	(void)state;
	token_new("known.example", HM_PROFILE_SERVER, "dns:known.example", 0,
	    tok, &ti);
	key = key_new(HM_KEY_P256);
	HM_CHECK(hm_token_parse(tok, id, psk, &err), &err);
	/* An id the store never made, with a PSK of its own. */
	assert_int_equal(RAND_bytes(uid, sizeof(uid)), 1);
	assert_int_equal(RAND_bytes(psk, sizeof(psk)), 1);
	assert_int_equal(hm_token_format(uid, psk, unk), HM_OK);
	/* The known id with another PSK. */
	assert_int_equal(RAND_bytes(psk, sizeof(psk)), 1);
	assert_int_equal(hm_token_format(id, psk, bad), HM_OK);
	/* One CSR for both: bodies of the same length. */
	csr = csr_new(key, "known.example", NULL);
	HM_CHECK(hm_enroll_new(unk, csr, &eu, &err), &err);
	HM_CHECK(hm_enroll_new(bad, csr, &ew, &err), &err);
	hm_csr_free(csr);
	ru = hm_enroll_request(eu, &ulen);
	rw = hm_enroll_request(ew, &wlen);
	assert_int_equal(ulen, wlen);
	before = ncerts(ca, NULL);

	assert_int_equal(answer_status(ru, ulen), 403);
	assert_int_equal(answer_status(rw, wlen), 403);

	/*
	 * The two cost the same work (a lookup, the key schedule, the
	 * AEAD over the whole body).  Medians of interleaved runs, and a
	 * loose bound (a factor of 2) so that a busy machine does not make
	 * this flaky: it catches an early exit for unknown ids (no
	 * decryption at all), not a few percent.
	 */
	for (i = 0; i < TIMING_RUNS; i++) {
		t0 = now_s();
		assert_int_equal(answer_status(ru, ulen), 403);
		tu[i] = now_s() - t0;
		t0 = now_s();
		assert_int_equal(answer_status(rw, wlen), 403);
		tw[i] = now_s() - t0;
	}
	mu = median(tu, TIMING_RUNS);
	mw = median(tw, TIMING_RUNS);
	if (mu > 2 * mw || mw > 2 * mu)
		fail_msg("unknown id %.1f us, wrong PSK %.1f us", mu * 1e6,
		    mw * 1e6);

	assert_int_equal(ncerts(ca, NULL), before);
	assert_state(ti.id, "pending");
	hm_enroll_free(eu);
	hm_enroll_free(ew);
	hm_key_free(key);
	OPENSSL_cleanse(psk, sizeof(psk));
}

/* ---- 6. Sealed refusals ------------------------------------------------ */

static void
test_expired(void **state)
{
	hm_token_info	 ti;
	hm_enroll	*e;
	hm_key		*key;
	char		 tok[HM_TOKEN_LEN + 1];
	size_t		 before;

	(void)state;
	token_new("late.example", HM_PROFILE_SERVER, "dns:late.example", 1,
	    tok, &ti);
	key = key_new(HM_KEY_ED25519);
	e = enroll_new(tok, key, "late.example", NULL);
	sleep(2);
	before = ncerts(ca, NULL);
	expect_refused(e, key, tok, HM_ENROLL_R_EXPIRED, "this token expired");
	hm_enroll_free(e);
	e = enroll_new(tok, key, "evil.example", "dns:evil.example");
	expect_refused(e, key, tok, HM_ENROLL_R_EXPIRED, "this token expired");
	assert_int_equal(ncerts(ca, NULL), before);
	assert_state(ti.id, "expired");
	hm_enroll_free(e);
	hm_key_free(key);
}

static void
test_revoked(void **state)
{
	hm_token_info	 ti;
	hm_enroll	*e;
	hm_key		*key;
	char		 tok[HM_TOKEN_LEN + 1];
	size_t		 before;
	hm_err		 err;

	(void)state;
	token_new("gone.example", HM_PROFILE_SERVER, "dns:gone.example", 0,
	    tok, &ti);
	key = key_new(HM_KEY_ED25519);
	e = enroll_new(tok, key, "gone.example", NULL);
	HM_CHECK(hm_token_revoke(ca, ti.id, &err), &err);
	before = ncerts(ca, NULL);
	expect_refused(e, key, tok, HM_ENROLL_R_REVOKED,
	    "this token was revoked");
	hm_enroll_free(e);
	/* Before the CSR is looked at. */
	e = enroll_new(tok, key, "evil.example", "dns:evil.example");
	expect_refused(e, key, tok, HM_ENROLL_R_REVOKED,
	    "this token was revoked");
	hm_enroll_free(e);
	assert_int_equal(ncerts(ca, NULL), before);
	assert_state(ti.id, "revoked");
	hm_key_free(key);
}

/* csr (any bytes) sealed with tok by hm_enroll_req_seal: the refusal. */
static unsigned
seal_refused(const char *tok, const unsigned char *csr, size_t csrlen,
    char msg[HM_ENROLL_MSG_MAX + 1])
{
	unsigned char	 id[HM_PSK_ID_LEN], psk[HM_PSK_LEN];
	unsigned char	 nonce[HM_ENROLL_NONCE_LEN], *body, *rep;
	size_t		 len, replen;
	unsigned	 code;
	hm_err		 err;

	HM_CHECK(hm_token_parse(tok, id, psk, &err), &err);
	assert_int_equal(RAND_bytes(nonce, sizeof(nonce)), 1);
	HM_CHECK(hm_enroll_req_seal(psk, id, nonce, csr, csrlen, &body, &len,
	    &err), &err);
	assert_int_equal(answer(resp, body, len, &rep, &replen), 200);
	code = refusal(tok, body, len, rep, replen, msg);
	free(rep);
	free(body);
	OPENSSL_cleanse(psk, sizeof(psk));
	return code;
}

static void
test_refused_csr(void **state)
{
	static const char pem[] =
	    "-----BEGIN \xff\x01-----\nMAMCAQE=\n-----END \xff\x01-----\n";
	static const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	const unsigned char	*req;
	unsigned char		*der, *rep;
	hm_token_info		 ti;
	hm_enroll		*e;
	hm_key			*key, *ed;
	hm_csr			*csr, *c2;
	char			 tok[HM_TOKEN_LEN + 1];
	char			 msg[HM_ENROLL_MSG_MAX + 1];
	size_t			 before, reqlen, replen;
	hm_err			 err;

	(void)state;
	token_new("scope.example", HM_PROFILE_SERVER,
	    "dns:scope.example,ip:192.0.2.7", 0, tok, &ti);
	key = key_new(HM_KEY_P256);
	before = ncerts(ca, NULL);

	/* A SAN the token does not name, next to one it does. */
	e = enroll_new(tok, key, "scope.example",
	    "dns:scope.example,dns:evil.example");
	expect_refused(e, key, tok, HM_ENROLL_R_SCOPE,
	    "the CSR asks for a name this token does not cover");
	hm_enroll_free(e);
	/* An IP address it does not name. */
	e = enroll_new(tok, key, "scope.example", "ip:192.0.2.8");
	expect_refused(e, key, tok, HM_ENROLL_R_SCOPE,
	    "the CSR asks for a name this token does not cover");
	hm_enroll_free(e);
	/* Another CN, with SANs all in the scope. */
	e = enroll_new(tok, key, "other.example", "dns:scope.example");
	expect_refused(e, key, tok, HM_ENROLL_R_SCOPE,
	    "the CSR asks for a name this token does not cover");
	hm_enroll_free(e);

	/* A CSR whose signature does not verify (one bit of it flipped). */
	ed = key_new(HM_KEY_ED25519);
	csr = csr_new(ed, "scope.example", NULL);
	assert_non_null(der = malloc(csr->derlen));
	memcpy(der, csr->der, csr->derlen);
	der[csr->derlen - 1] ^= 0x01;	/* in the Ed25519 signature */
	assert_int_equal(hm_csr_parse(der, csr->derlen, &c2, &err),
	    HM_E_SIGNATURE);
	assert_int_equal(seal_refused(tok, der, csr->derlen, msg),
	    HM_ENROLL_R_CSR);
	assert_non_null(strstr(msg, "signature"));
	free(der);
	hm_csr_free(csr);
	/* Not a CSR at all. */
	assert_int_equal(seal_refused(tok, junk, sizeof(junk), msg),
	    HM_ENROLL_R_CSR);
	assert_non_null(strstr(msg, "CSR"));
	/*
	 * PEM with a label that is not UTF-8: the parser's message quotes
	 * it, and can not go in a refusal as it is; still a sealed refusal.
	 */
	assert_int_equal(hm_csr_parse((const unsigned char *)pem,
	    sizeof(pem) - 1, &c2, &err), HM_E_INVALID);
	assert_non_null(strstr(err.msg, "PEM holds a '\xff\x01'"));
	assert_int_equal(seal_refused(tok, (const unsigned char *)pem,
	    sizeof(pem) - 1, msg), HM_ENROLL_R_CSR);
	assert_string_equal(msg, "CSR not acceptable");

	/* None of these used the token or issued anything. */
	assert_int_equal(ncerts(ca, NULL), before);
	assert_state(ti.id, "pending");
	/* A CSR within the scope, after all of them: issued. */
	e = enroll_new(tok, ed, "scope.example", "ip:192.0.2.7");
	req = hm_enroll_request(e, &reqlen);
	assert_int_equal(answer(resp, req, reqlen, &rep, &replen), 200);
	HM_CHECK(hm_enroll_finish(e, ed, rep, replen, &err), &err);
	check_issued(e, &ti, ed);
	free(rep);
	hm_enroll_free(e);
	hm_key_free(ed);
	hm_key_free(key);
}

/* ---- 7. Swap and reflection -------------------------------------------- */

static void
test_swap_reflection(void **state)
{
	const unsigned char	*qa, *qb, *qc;
	unsigned char		*ra, *rb, *rc;
	hm_token_info		 ta, tb;
	hm_enroll		*ea, *eb, *ec;
	hm_key			*ka, *kb;
	char			 toka[HM_TOKEN_LEN + 1], tokb[HM_TOKEN_LEN + 1];
	size_t			 la, lb, lc, rla, rlb, rlc, before;
	hm_err			 err;

	(void)state;
	token_new("a.example", HM_PROFILE_SERVER, "dns:a.example", 0, toka,
	    &ta);
	token_new("b.example", HM_PROFILE_SERVER, "dns:b.example", 0, tokb,
	    &tb);
	ka = key_new(HM_KEY_P256);
	kb = key_new(HM_KEY_P256);
	ea = enroll_new(toka, ka, "a.example", NULL);
	eb = enroll_new(tokb, kb, "b.example", NULL);
	qa = hm_enroll_request(ea, &la);
	qb = hm_enroll_request(eb, &lb);

	/* Reflection: a request is not a reply, nor a reply a request. */
	assert_int_not_equal(hm_enroll_finish(ea, ka, qa, la, &err), HM_OK);
	assert_null(hm_enroll_cert_pem(ea));

	assert_int_equal(answer(resp, qa, la, &ra, &rla), 200);
	assert_int_equal(answer(resp, qb, lb, &rb, &rlb), 200);
	before = ncerts(ca, NULL);
	assert_int_equal(answer_status(ra, rla), 400);
	assert_int_equal(ncerts(ca, NULL), before);

	/* Swap: each reply opens for its own request only. */
	assert_int_equal(hm_enroll_finish(ea, ka, rb, rlb, &err),
	    HM_E_SIGNATURE);
	assert_int_equal(hm_enroll_finish(eb, kb, ra, rla, &err),
	    HM_E_SIGNATURE);
	assert_null(hm_enroll_cert_pem(ea));
	assert_null(hm_enroll_cert_pem(eb));
	/* Even with the other's key given along. */
	assert_int_equal(hm_enroll_finish(ea, kb, rb, rlb, &err),
	    HM_E_SIGNATURE);

	/* A second request with token A: its refusal is its own. */
	ec = enroll_new(toka, ka, "a.example", NULL);
	qc = hm_enroll_request(ec, &lc);
	assert_int_equal(answer(resp, qc, lc, &rc, &rlc), 200);
	assert_int_equal(hm_enroll_finish(ea, ka, rc, rlc, &err),
	    HM_E_SIGNATURE);
	assert_int_equal(hm_enroll_finish(ec, ka, ra, rla, &err),
	    HM_E_SIGNATURE);
	assert_int_equal(hm_enroll_finish(ec, ka, rc, rlc, &err),
	    HM_E_REFUSED);

	HM_CHECK(hm_enroll_finish(ea, ka, ra, rla, &err), &err);
	check_issued(ea, &ta, ka);
	HM_CHECK(hm_enroll_finish(eb, kb, rb, rlb, &err), &err);
	check_issued(eb, &tb, kb);
	free(ra);
	free(rb);
	free(rc);
	hm_enroll_free(ea);
	hm_enroll_free(eb);
	hm_enroll_free(ec);
	hm_key_free(ka);
	hm_key_free(kb);
}

/* ---- 8. Racing requests for one token ---------------------------------- */

struct racer {
	pthread_barrier_t	*bar;
	hm_ca			*ca;
	hm_responder		*r;
	hm_key			*key;
	hm_enroll		*e;
	const unsigned char	*req;
	size_t			 reqlen;
	unsigned char		*rep;
	size_t			 replen;
	int			 http, rc;
	hm_err			 err;
};

/* No cmocka assertions here: the main thread checks what came back. */
static void *
racer_main(void *arg)
{
	struct racer	*x = arg;

	pthread_barrier_wait(x->bar);
	x->rc = hm_enroll_answer(x->r, x->req, x->reqlen, &x->rep,
	    &x->replen, &x->http, &x->err);
	return NULL;
}

/*
 * RACERS requests with tok, each from its own connection to the store
 * and its own responder, sent at once; with hold set, the store is held
 * locked by the main thread for a second first, so that every racer
 * reads the token pending and the losers meet the used token inside the
 * transaction (HM_E_EXISTS) rather than at the state check.
 */
static void
race(const char *name, int hold)
{
	static struct racer	 x[RACERS];
	pthread_barrier_t	 bar;
	pthread_t		 th[RACERS];
	hm_token_info		 ti;
	hm_store		*st = ca->store;
	char			 tok[HM_TOKEN_LEN + 1], subject[128];
	char			 msg[HM_ENROLL_MSG_MAX + 1];
	size_t			 before;
	hm_err			 err;
	int			 i, won = 0, lost = 0;

	token_new(name, HM_PROFILE_CLIENT, NULL, 0, tok, &ti);
	memset(x, 0, sizeof(x));
	assert_int_equal(pthread_barrier_init(&bar, NULL, RACERS), 0);
	for (i = 0; i < RACERS; i++) {
		x[i].bar = &bar;
		x[i].http = -1;
		HM_CHECK(hm_ca_open(tu_path(CA_DIR), &x[i].ca, &err), &err);
		HM_CHECK(hm_responder_new(x[i].ca, NULL, NULL, &x[i].r, &err),
		    &err);
		x[i].key = key_new(i % 2 ? HM_KEY_ED25519 : HM_KEY_P256);
		x[i].e = enroll_new(tok, x[i].key, name, NULL);
		x[i].req = hm_enroll_request(x[i].e, &x[i].reqlen);
	}
	before = ncerts(ca, NULL);
	if (hold)
		HM_CHECK(st->ops->begin(st, &err), &err);
	for (i = 0; i < RACERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, racer_main,
		    &x[i]), 0);
	if (hold) {
		sleep(1);
		st->ops->rollback(st);
	}
	for (i = 0; i < RACERS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&bar);

	for (i = 0; i < RACERS; i++) {
		if (x[i].rc != HM_OK)
			fail_msg("racer %d: %d: %s", i, x[i].rc, x[i].err.msg);
		assert_int_equal(x[i].http, 200);
		if (hm_enroll_finish(x[i].e, x[i].key, x[i].rep, x[i].replen,
		    &err) == HM_OK) {
			won++;
			check_issued(x[i].e, &ti, x[i].key);
			continue;
		}
		lost++;
		assert_int_equal(err.code, HM_E_REFUSED);
		assert_int_equal(refusal(tok, x[i].req, x[i].reqlen, x[i].rep,
		    x[i].replen, msg), HM_ENROLL_R_USED);
	}
	assert_int_equal(won, 1);
	assert_int_equal(lost, RACERS - 1);
	assert_int_equal(ncerts(ca, NULL), before + 1);
	snprintf(subject, sizeof(subject), "CN=%s", name);
	assert_int_equal(ncerts(ca, subject), 1);

	for (i = 0; i < RACERS; i++) {
		free(x[i].rep);
		hm_enroll_free(x[i].e);
		hm_key_free(x[i].key);
		hm_responder_free(x[i].r);
		hm_ca_close(x[i].ca);
	}
}

static void
test_race(void **state)
{
	(void)state;
	race("race.example", 0);
	race("race-held.example", 1);
}

/*
 * A token revoked while a request for it waits for the store: the
 * request read it pending, its transaction finds it revoked.  The answer
 * says so (not "used"), and nothing is issued.
 */
static void
test_revoked_in_flight(void **state)
{
	struct racer		 x;
	pthread_barrier_t	 bar;
	pthread_t		 th;
	hm_token_info		 ti;
	hm_store		*st = ca->store;
	char			 tok[HM_TOKEN_LEN + 1];
	char			 msg[HM_ENROLL_MSG_MAX + 1];
	size_t			 before;
	hm_err			 err;

	(void)state;
	token_new("flight.example", HM_PROFILE_CLIENT, NULL, 0, tok, &ti);
	memset(&x, 0, sizeof(x));
	assert_int_equal(pthread_barrier_init(&bar, NULL, 1), 0);
	x.bar = &bar;
	x.http = -1;
	HM_CHECK(hm_ca_open(tu_path(CA_DIR), &x.ca, &err), &err);
	HM_CHECK(hm_responder_new(x.ca, NULL, NULL, &x.r, &err), &err);
	x.key = key_new(HM_KEY_ED25519);
	x.e = enroll_new(tok, x.key, "flight.example", NULL);
	x.req = hm_enroll_request(x.e, &x.reqlen);
	before = ncerts(ca, NULL);

	HM_CHECK(st->ops->begin(st, &err), &err);
	assert_int_equal(pthread_create(&th, NULL, racer_main, &x), 0);
	sleep(1);
	HM_CHECK(st->ops->token_revoke(st, ti.id, &err), &err);
	HM_CHECK(st->ops->commit(st, &err), &err);
	assert_int_equal(pthread_join(th, NULL), 0);
	pthread_barrier_destroy(&bar);

	if (x.rc != HM_OK)
		fail_msg("%d: %s", x.rc, x.err.msg);
	assert_int_equal(x.http, 200);
	assert_int_equal(refusal(tok, x.req, x.reqlen, x.rep, x.replen, msg),
	    HM_ENROLL_R_REVOKED);
	assert_string_equal(msg, "this token was revoked");
	assert_int_equal(ncerts(ca, NULL), before);
	assert_state(ti.id, "revoked");
	free(x.rep);
	hm_enroll_free(x.e);
	hm_key_free(x.key);
	hm_responder_free(x.r);
	hm_ca_close(x.ca);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue),
		cmocka_unit_test(test_retry_used),
		cmocka_unit_test(test_bitflips),
		cmocka_unit_test(test_truncated_oversize),
		cmocka_unit_test(test_unknown_wrong_psk),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_revoked),
		cmocka_unit_test(test_refused_csr),
		cmocka_unit_test(test_swap_reflection),
		cmocka_unit_test(test_race),
		cmocka_unit_test(test_revoked_in_flight),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
