/*
 * TLS contexts for the programs that use hallmark's certificates, and for
 * hallmark serve itself: OpenSSL's, set up so that the safe thing is the
 * only thing (TLS 1.2 at least, no renegotiation, the key checked against
 * the certificate, a certificate valid now; peers verified for their
 * purpose, against the given CAs and CRLs, by name).
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "internal.h"

#define TLS_SERVER	1
#define TLS_CLIENT	2
#define TLS_NAMES_MAX	1024	/* allow-list entries */
#define TLS_NAME_MAX	253	/* bytes of an allow-list entry */
#define TLS_CRL_MAX	(256 * 1024 * 1024)	/* bytes of a CRL file */
#define TLS_BOTH_CAS	"trust a CA bundle or a CA directory, not both"

/*
 * What a context needs beyond OpenSSL's own settings, kept in its ex_data
 * and freed with it: the role, the server's name (SNI), the allow-list and
 * the stamp of the files it was made from.
 */
struct tls_ext {
	int		  role;
	char		 *host;
	char		**names;
	size_t		  nnames;
	uint64_t	  stamp;
};

static CRYPTO_ONCE	tls_once = CRYPTO_ONCE_STATIC_INIT;
static int		tls_idx = -1;

static void
ext_free(struct tls_ext *e)
{
	size_t	i;

	if (e == NULL)
		return;
	for (i = 0; i < e->nnames; i++)
		free(e->names[i]);
	free(e->names);
	free(e->host);
	free(e);
}

static void
ext_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	(void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
	ext_free(ptr);
}

static void
tls_idx_init(void)
{
	tls_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, ext_free_cb);
}

static struct tls_ext *
ext_get(const SSL_CTX *ctx)
{
	if (!CRYPTO_THREAD_run_once(&tls_once, tls_idx_init) || tls_idx < 0)
		return NULL;
	return SSL_CTX_get_ex_data(ctx, tls_idx);
}

/* FNV-1a over the identity and times of a file (or its absence). */
static uint64_t
stamp_add(uint64_t h, const char *path)
{
	struct stat	 st;
	int64_t		 v[7] = { 0 };
	unsigned char	*b = (unsigned char *)v;
	size_t		 i;

	if (path == NULL)
		return h;
	if (stat(path, &st) == 0) {
		v[0] = (int64_t)st.st_dev;
		v[1] = (int64_t)st.st_ino;
		v[2] = (int64_t)st.st_size;
		v[3] = (int64_t)st.st_mtim.tv_sec;
		v[4] = (int64_t)st.st_mtim.tv_nsec;
		v[5] = (int64_t)st.st_ctim.tv_sec;
		v[6] = (int64_t)st.st_ctim.tv_nsec;
	} else
		v[0] = -1;
	for (i = 0; i < sizeof(v); i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t
stamp(const hm_tls_params *p)
{
	uint64_t	h = 0xcbf29ce484222325ULL;
	size_t		i;

	h = stamp_add(h, p->cert);
	h = stamp_add(h, p->key);
	h = stamp_add(h, p->ca);
	for (i = 0; p->crls != NULL && p->crls[i] != NULL; i++)
		h = stamp_add(h, p->crls[i]);
	return h;
}

/* The context's chain and key; the leaf valid now. */
static int
use_cert_key(SSL_CTX *ctx, const hm_tls_params *p, hm_err *err)
{
	hm_key	*k = NULL;
	X509	*x;
	int	 rc;

	if ((rc = hm_key_load(p->key, p->key_pass, &k, err)) != HM_OK)
		return rc;
	/* The file: the leaf, then the CAs a peer needs to reach a root. */
	if (SSL_CTX_use_certificate_chain_file(ctx, p->cert) != 1) {
		rc = hm_seterr_ssl(err, HM_E_INVALID, "%.128s: not a PEM "
		    "certificate chain", p->cert);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey(ctx, k->pkey) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		rc = hm_seterr(err, HM_E_INVALID, "%.100s is not the key of "
		    "%.100s", p->key, p->cert);
		goto out;
	}
	x = SSL_CTX_get0_certificate(ctx);
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		rc = hm_seterr(err, HM_E_POLICY, "%.128s has expired; renew "
		    "it", p->cert);
		goto out;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) {
		rc = hm_seterr(err, HM_E_POLICY, "%.128s is not valid yet",
		    p->cert);
		goto out;
	}
	rc = HM_OK;
 out:
	hm_key_free(k);
	return rc;
}

/* Every CRL of one file (PEM: all of them; DER: one) into store. */
static int
load_crl_file(X509_STORE *store, const char *path, hm_err *err)
{
	unsigned char		*buf = NULL;
	const unsigned char	*q;
	size_t			 len;
	BIO			*b = NULL;
	X509_CRL		*crl = NULL;
	int			 rc, n = 0;

	if ((rc = hm_file_read(path, TLS_CRL_MAX, &buf, &len, err)) != HM_OK)
		return rc;
	if (memmem(buf, len, "-----BEGIN", 10) != NULL) {
		if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL) {
			rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
			goto out;
		}
		while ((crl = PEM_read_bio_X509_CRL(b, NULL, NULL,
		    NULL)) != NULL) {
			if (!X509_STORE_add_crl(store, crl)) {
				rc = hm_seterr_ssl(err, HM_E_INTERNAL,
				    "%.128s: CRL", path);
				goto out;
			}
			X509_CRL_free(crl);
			crl = NULL;
			n++;
		}
		ERR_clear_error();	/* the end of the file */
	} else {
		q = buf;
		if ((crl = d2i_X509_CRL(NULL, &q, (long)len)) != NULL &&
		    q == buf + len) {
			if (!X509_STORE_add_crl(store, crl)) {
				rc = hm_seterr_ssl(err, HM_E_INTERNAL,
				    "%.128s: CRL", path);
				goto out;
			}
			n++;
		}
	}
	if (n == 0) {
		rc = hm_seterr(err, HM_E_INVALID, "%.128s: no CRL in it (PEM "
		    "or DER)", path);
		goto out;
	}
	rc = HM_OK;
 out:
	X509_CRL_free(crl);
	BIO_free(b);
	free(buf);
	return rc;
}

/* Does one of x's CNs, DNS or IP SANs equal name? */
static int
name_matches(X509 *x, const char *name)
{
	const X509_NAME		*subj = X509_get_subject_name(x);
	const X509_NAME_ENTRY	*ne;
	GENERAL_NAMES		*gens;
	const GENERAL_NAME	*g;
	ASN1_OCTET_STRING	*ip;
	unsigned char		*u;
	size_t			 nlen = strlen(name);
	int			 i, l, ok = 0;

	ERR_set_mark();
	ip = a2i_IPADDRESS(name);
	ERR_pop_to_mark();
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; !ok && i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (ip != NULL && g->type == GEN_IPADD)
			ok = ASN1_STRING_cmp(ip, g->d.iPAddress) == 0;
		else if (ip == NULL && g->type == GEN_DNS)
			ok = (size_t)ASN1_STRING_length(g->d.dNSName) ==
			    nlen && strncasecmp((const char *)
			    ASN1_STRING_get0_data(g->d.dNSName), name,
			    nlen) == 0;
	}
	for (i = -1; !ok && ip == NULL && (i = X509_NAME_get_index_by_NID(
	    subj, NID_commonName, i)) >= 0;) {
		ne = X509_NAME_get_entry(subj, i);
		if ((l = ASN1_STRING_to_UTF8(&u,
		    X509_NAME_ENTRY_get_data(ne))) < 0)
			continue;
		ok = (size_t)l == nlen && strncasecmp((char *)u, name,
		    nlen) == 0;
		OPENSSL_free(u);
	}
	GENERAL_NAMES_free(gens);
	ASN1_OCTET_STRING_free(ip);
	ERR_clear_error();
	return ok;
}

/*
 * OpenSSL's chain verification, then the allow-list.  A client not on it
 * is refused with X509_V_ERR_APPLICATION_VERIFICATION, which only this
 * check sets: hm_tls_peer_error reads it as "not allowed".
 */
static int
verify_cb(X509_STORE_CTX *xs, void *arg)
{
	const struct tls_ext	*e = arg;
	X509			*leaf;
	size_t			 i;

	if (X509_verify_cert(xs) <= 0)
		return 0;
	if (e == NULL || e->nnames == 0)
		return 1;
	leaf = X509_STORE_CTX_get0_cert(xs);
	for (i = 0; i < e->nnames; i++)
		if (name_matches(leaf, e->names[i]))
			return 1;
	X509_STORE_CTX_set_error_depth(xs, 0);
	X509_STORE_CTX_set_current_cert(xs, leaf);
	X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
	return 0;
}

static int
ext_set_names(struct tls_ext *e, const char *const *names, hm_err *err)
{
	size_t	n, i, l;

	for (n = 0; names[n] != NULL; n++)
		if (n >= TLS_NAMES_MAX)
			return hm_seterr(err, HM_E_TOOBIG, "more than %d "
			    "allowed peer names", TLS_NAMES_MAX);
	if (n == 0)
		return HM_OK;
	if ((e->names = calloc(n, sizeof(*e->names))) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		l = strlen(names[i]);
		if (l == 0 || l > TLS_NAME_MAX ||
		    strpbrk(names[i], "*") != NULL)
			return hm_seterr(err, HM_E_INVALID, "allowed peer name "
			    "'%.64s': want a name or an address, without "
			    "wildcards", names[i]);
		if ((e->names[i] = strdup(names[i])) == NULL)
			return hm_seterr(err, HM_E_NOMEM, "out of memory");
		e->nnames = i + 1;
	}
	return HM_OK;
}

struct trust_arg {
	hm_ca		*ca;
	X509_STORE	*store;
	hm_err		*err;
	int		 rc;
};

static int
trust_one(const hm_ca_info *ci, void *arg)
{
	struct trust_arg	*a = arg;
	hm_signer		*s = NULL;

	if ((a->rc = hm_ca_certs(a->ca, ci->name, &s, a->err)) != HM_OK)
		return 1;
	if (!X509_STORE_add_cert(a->store, s->cert)) {
		a->rc = hm_seterr_ssl(a->err, HM_E_INTERNAL, "X.509 store");
		hm_signer_free(s);
		return 1;
	}
	hm_signer_free(s);
	return 0;
}

/*
 * The CAs peers are verified against, into ctx's store: those of the PEM
 * bundle p->ca, or the certificate of every CA of the directory p->ca_dir.
 */
static int
load_trust(SSL_CTX *ctx, const hm_tls_params *p, hm_err *err)
{
	struct trust_arg	a;
	int			rc;

	if (p->ca != NULL) {
		if (SSL_CTX_load_verify_file(ctx, p->ca) != 1)
			return hm_seterr_ssl(err, HM_E_INVALID, "%.128s: no "
			    "PEM CA certificate in it", p->ca);
		return HM_OK;
	}
	a.ca = p->ca_dir;
	a.store = SSL_CTX_get_cert_store(ctx);
	a.err = err;
	a.rc = HM_OK;
	if ((rc = hm_ca_list(p->ca_dir, trust_one, &a, err)) != HM_OK)
		return rc;
	return a.rc;
}

/* The peer side: trust, purpose, strictness, CRLs. */
static int
use_ca(SSL_CTX *ctx, const hm_tls_params *p, int purpose, hm_err *err)
{
	X509_VERIFY_PARAM	*vp = SSL_CTX_get0_param(ctx);
	unsigned long		 flags = X509_V_FLAG_X509_STRICT;
	size_t			 i;
	int			 rc;

	if ((rc = load_trust(ctx, p, err)) != HM_OK)
		return rc;
	if (!SSL_CTX_set_purpose(ctx, purpose))
		return hm_seterr_ssl(err, HM_E_INTERNAL, "TLS purpose");
	for (i = 0; p->crls != NULL && p->crls[i] != NULL; i++) {
		if ((rc = load_crl_file(SSL_CTX_get_cert_store(ctx),
		    p->crls[i], err)) != HM_OK)
			return rc;
		flags |= X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
	}
	if (!X509_VERIFY_PARAM_set_flags(vp, flags))
		return hm_seterr_ssl(err, HM_E_INTERNAL, "TLS verify flags");
	return HM_OK;
}

/*
 * Tell clients which CAs' certificates to send: the subject of every
 * certificate of ctx's store, each name once.
 */
static int
send_ca_names(SSL_CTX *ctx, hm_err *err)
{
	STACK_OF(X509)		*certs;
	STACK_OF(X509_NAME)	*names;
	const X509_NAME		*n;
	int			 i, j, rc;

	if ((certs = X509_STORE_get1_all_certs(SSL_CTX_get_cert_store(
	    ctx))) == NULL)
		return hm_seterr_ssl(err, HM_E_NOMEM, "TLS CA names");
	for (i = 0; i < sk_X509_num(certs); i++) {
		n = X509_get_subject_name(sk_X509_value(certs, i));
		names = SSL_CTX_get_client_CA_list(ctx);
		for (j = 0; j < sk_X509_NAME_num(names); j++)
			if (X509_NAME_cmp(n, sk_X509_NAME_value(names, j)) == 0)
				break;
		if (j < sk_X509_NAME_num(names))
			continue;
		if (!SSL_CTX_add_client_CA(ctx, sk_X509_value(certs, i))) {
			rc = hm_seterr_ssl(err, HM_E_NOMEM, "TLS CA names");
			goto out;
		}
	}
	rc = HM_OK;
 out:
	sk_X509_pop_free(certs, X509_free);
	return rc;
}

/*
 * A server's request for client certificates: verified for TLS client use
 * against the CAs of p (a bundle or a directory), then the allow-list;
 * required unless p->flags says requested only.
 */
static int
verify_clients(SSL_CTX *ctx, struct tls_ext *e, const hm_tls_params *p,
    hm_err *err)
{
	static const unsigned char	 sid[] = "hallmark mtls";
	int				 rc, mode;

	if ((rc = use_ca(ctx, p, X509_PURPOSE_SSL_CLIENT, err)) != HM_OK)
		return rc;
	if (p->peer_names != NULL &&
	    (rc = ext_set_names(e, p->peer_names, err)) != HM_OK)
		return rc;
	if ((rc = send_ca_names(ctx, err)) != HM_OK)
		return rc;
	/* Sessions are resumed only by the context that made them. */
	if (!SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1))
		return hm_seterr_ssl(err, HM_E_INTERNAL, "TLS session");
	mode = SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE;
	if (!(p->flags & HM_TLS_REQUEST_CLIENT_CERT))
		mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	SSL_CTX_set_verify(ctx, mode, NULL);
	SSL_CTX_set_cert_verify_callback(ctx, verify_cb, e);
	return HM_OK;
}

static int
ctx_new(int role, const hm_tls_params *p, SSL_CTX **out, hm_err *err)
{
	SSL_CTX		*ctx = NULL;
	struct tls_ext	*e = NULL;
	X509_VERIFY_PARAM *vp;
	ASN1_OCTET_STRING *ip;
	uint64_t	 st;
	int		 rc, owned = 0;

	if (!CRYPTO_THREAD_run_once(&tls_once, tls_idx_init) || tls_idx < 0)
		return hm_seterr_ssl(err, HM_E_INTERNAL, "TLS ex_data");
	/* Before reading: a change while we read is seen next time. */
	st = stamp(p);
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	e->role = role;
	e->stamp = st;
	if ((ctx = SSL_CTX_new(role == TLS_SERVER ? TLS_server_method() :
	    TLS_client_method())) == NULL) {
		rc = hm_seterr_ssl(err, HM_E_NOMEM, "TLS context");
		goto out;
	}
	if (!SSL_CTX_set_ex_data(ctx, tls_idx, e)) {
		rc = hm_seterr_ssl(err, HM_E_NOMEM, "TLS ex_data");
		goto out;
	}
	owned = 1;	/* freed with ctx from here on */
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "TLS versions");
		goto out;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    (role == TLS_SERVER ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
	if (p->cert != NULL &&
	    (rc = use_cert_key(ctx, p, err)) != HM_OK)
		goto out;
	if (role == TLS_SERVER && (p->ca != NULL || p->ca_dir != NULL)) {
		if ((rc = verify_clients(ctx, e, p, err)) != HM_OK)
			goto out;
	} else if (role == TLS_CLIENT) {
		if ((rc = use_ca(ctx, p, X509_PURPOSE_SSL_SERVER, err)) !=
		    HM_OK)
			goto out;
		if ((e->host = strdup(p->host)) == NULL) {
			rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
			goto out;
		}
		vp = SSL_CTX_get0_param(ctx);
		ERR_set_mark();
		ip = a2i_IPADDRESS(p->host);
		ERR_pop_to_mark();
		if (ip != NULL) {
			ASN1_OCTET_STRING_free(ip);
			rc = X509_VERIFY_PARAM_set1_ip_asc(vp, p->host);
		} else {
			X509_VERIFY_PARAM_set_hostflags(vp,
			    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			rc = X509_VERIFY_PARAM_set1_host(vp, p->host, 0);
		}
		if (rc != 1) {
			rc = hm_seterr_ssl(err, HM_E_INVALID, "server name "
			    "'%.64s'", p->host);
			goto out;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	*out = ctx;
	ctx = NULL;
	rc = HM_OK;
 out:
	SSL_CTX_free(ctx);
	if (!owned)
		ext_free(e);
	return rc;
}

int
hm_tls_server_ctx_new(const hm_tls_params *p, SSL_CTX **out, hm_err *err)
{
	if (p == NULL || p->cert == NULL || p->key == NULL)
		return hm_seterr(err, HM_E_INVALID, "a TLS server needs a "
		    "certificate and its key");
	if (p->ca != NULL && p->ca_dir != NULL)
		return hm_seterr(err, HM_E_INVALID, TLS_BOTH_CAS);
	if (p->ca == NULL && p->ca_dir == NULL && (p->crls != NULL ||
	    p->peer_names != NULL || p->flags != 0))
		return hm_seterr(err, HM_E_INVALID, "CRLs, allowed peer names "
		    "and client certificate flags need a CA bundle or "
		    "directory");
	if ((p->flags & ~(unsigned)(HM_TLS_REQUIRE_CLIENT_CERT |
	    HM_TLS_REQUEST_CLIENT_CERT)) != 0 ||
	    (p->flags & HM_TLS_REQUIRE_CLIENT_CERT &&
	    p->flags & HM_TLS_REQUEST_CLIENT_CERT))
		return hm_seterr(err, HM_E_INVALID, "TLS flags: require or "
		    "request a client certificate, not both");
	if (p->host != NULL)
		return hm_seterr(err, HM_E_INVALID, "a TLS server has no "
		    "host to check; allow peer names instead");
	return ctx_new(TLS_SERVER, p, out, err);
}

int
hm_tls_client_ctx_new(const hm_tls_params *p, SSL_CTX **out, hm_err *err)
{
	if (p == NULL || (p->ca == NULL && p->ca_dir == NULL))
		return hm_seterr(err, HM_E_INVALID, "a TLS client needs the "
		    "CA bundle (or directory) to verify its server with");
	if (p->ca != NULL && p->ca_dir != NULL)
		return hm_seterr(err, HM_E_INVALID, TLS_BOTH_CAS);
	if (p->host == NULL || *p->host == '\0')
		return hm_seterr(err, HM_E_INVALID, "a TLS client needs the "
		    "name or address of its server");
	if ((p->cert == NULL) != (p->key == NULL))
		return hm_seterr(err, HM_E_INVALID, "a TLS client's "
		    "certificate and key go together");
	if (p->peer_names != NULL || p->flags != 0)
		return hm_seterr(err, HM_E_INVALID, "allowed peer names and "
		    "client certificate flags are for servers");
	return ctx_new(TLS_CLIENT, p, out, err);
}

int
hm_tls_ctx_reload(const hm_tls_params *p, SSL_CTX **ctx, hm_err *err)
{
	const struct tls_ext	*e;
	SSL_CTX			*n = NULL;
	int			 rc;

	if (ctx == NULL || *ctx == NULL || (e = ext_get(*ctx)) == NULL)
		return hm_seterr(err, HM_E_INVALID, "not a context of "
		    "hm_tls_*_ctx_new");
	rc = e->role == TLS_SERVER ? hm_tls_server_ctx_new(p, &n, err) :
	    hm_tls_client_ctx_new(p, &n, err);
	if (rc != HM_OK)
		return rc;
	SSL_CTX_free(*ctx);
	*ctx = n;
	return HM_OK;
}

int
hm_tls_ctx_changed(const SSL_CTX *ctx, const hm_tls_params *p)
{
	const struct tls_ext	*e;

	if (ctx == NULL || p == NULL || (e = ext_get(ctx)) == NULL)
		return 0;
	return stamp(p) != e->stamp;
}

int
hm_tls_ssl_new(SSL_CTX *ctx, SSL **out, hm_err *err)
{
	const struct tls_ext	*e;
	ASN1_OCTET_STRING	*ip;
	SSL			*ssl;

	if (ctx == NULL || (e = ext_get(ctx)) == NULL)
		return hm_seterr(err, HM_E_INVALID, "not a context of "
		    "hm_tls_*_ctx_new");
	if ((ssl = SSL_new(ctx)) == NULL)
		return hm_seterr_ssl(err, HM_E_NOMEM, "TLS connection");
	/* SNI carries names only, never addresses (RFC 6066, 3). */
	if (e->role == TLS_CLIENT && e->host != NULL) {
		ERR_set_mark();
		ip = a2i_IPADDRESS(e->host);
		ERR_pop_to_mark();
		if (ip == NULL && !SSL_set_tlsext_host_name(ssl, e->host)) {
			SSL_free(ssl);
			return hm_seterr_ssl(err, HM_E_INVALID, "server name "
			    "'%.64s'", e->host);
		}
		ASN1_OCTET_STRING_free(ip);
	}
	*out = ssl;
	return HM_OK;
}

static const char *
verify_reason(long v)
{
	switch (v) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
		return "unknown CA";
	case X509_V_ERR_CERT_REVOKED:
		return "revoked";
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "not yet valid";
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return "name mismatch";
	case X509_V_ERR_APPLICATION_VERIFICATION:
		return "not allowed";
	case X509_V_ERR_INVALID_PURPOSE:
		return "wrong purpose";
	case X509_V_ERR_UNABLE_TO_GET_CRL:
		return "no CRL";
	case X509_V_ERR_CRL_HAS_EXPIRED:
		return "CRL expired";
	case X509_V_ERR_CRL_NOT_YET_VALID:
		return "CRL not yet valid";
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return "bad signature";
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
		return "bad CRL signature";
	default:
		return X509_verify_cert_error_string(v);
	}
}

const char *
hm_tls_peer_error(const SSL *ssl)
{
	long	v;

	if (ssl == NULL || !(SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER))
		return NULL;
	if ((v = SSL_get_verify_result(ssl)) != X509_V_OK)
		return verify_reason(v);
	if (SSL_get0_peer_certificate(ssl) == NULL)
		return "no certificate";
	return NULL;
}

/* The peer's alert, in the words of hm_tls_peer_error where it can. */
static const char *
alert_reason(int r)
{
	switch (r) {
	case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
		return "revoked";
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
		return "expired";
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
		return "unknown CA";
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
		return "no certificate";
	case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
		return "not allowed";
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
		return "bad certificate";
	case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
		return "unsupported certificate";
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
		return "certificate unknown";
	case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
		return "handshake failure";
	default:
		return NULL;
	}
}

const char *
hm_tls_strerror(SSL *ssl, int ret, char *buf, size_t len)
{
	const char	*why;
	unsigned long	 e;
	int		 se, saved = errno;

	if (len == 0)
		return buf;
	if (ssl == NULL) {
		snprintf(buf, len, "no connection");
		return buf;
	}
	se = SSL_get_error(ssl, ret);
	e = ERR_peek_error();
	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
		snprintf(buf, len, "no certificate");
	else if ((why = hm_tls_peer_error(ssl)) != NULL &&
	    SSL_get_verify_result(ssl) != X509_V_OK)
		snprintf(buf, len, "%s", why);
	else if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    (why = alert_reason(ERR_GET_REASON(e))) != NULL)
		snprintf(buf, len, "refused by the peer: %s", why);
	else if (e != 0 && (why = ERR_reason_error_string(e)) != NULL)
		snprintf(buf, len, "%s", why);
	else if (se == SSL_ERROR_SYSCALL && ret < 0 && saved != 0)
		snprintf(buf, len, "%s", strerror(saved));
	else if (se == SSL_ERROR_ZERO_RETURN || se == SSL_ERROR_SYSCALL)
		snprintf(buf, len, "connection closed");
	else if (se == SSL_ERROR_WANT_READ || se == SSL_ERROR_WANT_WRITE)
		snprintf(buf, len, "timed out");
	else
		snprintf(buf, len, "TLS error %d", se);
	ERR_clear_error();
	return buf;
}

/* s (n bytes), printable ASCII, into buf. */
static void
printable(const unsigned char *s, int n, char *buf, size_t len)
{
	size_t	i;

	for (i = 0; i + 1 < len && (int)i < n; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	buf[i] = '\0';
}

int
hm_tls_peer_name(const SSL *ssl, char *buf, size_t len)
{
	X509		*x;
	GENERAL_NAMES	*gens;
	GENERAL_NAME	*g;
	unsigned char	*u;
	int		 i, l, rc = HM_E_NOTFOUND;

	if (ssl == NULL || len == 0 ||
	    (x = SSL_get0_peer_certificate(ssl)) == NULL)
		return HM_E_NOTFOUND;
	i = X509_NAME_get_index_by_NID(X509_get_subject_name(x),
	    NID_commonName, -1);
	if (i >= 0 && (l = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(
	    X509_NAME_get_entry(X509_get_subject_name(x), i)))) >= 0) {
		printable(u, l, buf, len);
		OPENSSL_free(u);
		return HM_OK;
	}
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS) {
			printable(ASN1_STRING_get0_data(g->d.dNSName),
			    ASN1_STRING_length(g->d.dNSName), buf, len);
			rc = HM_OK;
			break;
		}
	}
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	return rc;
}

int
hm_tls_peer_serial(const SSL *ssl, char *buf, size_t len)
{
	X509	*x;
	char	 hex[41];

	if (ssl == NULL || (x = SSL_get0_peer_certificate(ssl)) == NULL)
		return HM_E_NOTFOUND;
	if (hm_x509_serial_hex(x, hex) == -1)
		return HM_E_INVALID;
	if (strlen(hex) >= len)
		return HM_E_TOOBIG;
	memcpy(buf, hex, strlen(hex) + 1);
	return HM_OK;
}
