/*
 * Renewal: a machine proves its current certificate over mutual TLS and
 * gets a new one with the same names and profile from the same CA; the
 * old one is marked superseded in the transaction that records the new.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <limits.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "internal.h"

/* The CN of x, or "" (no CN: the names are the SANs). */
static void
cn_of(X509 *x, char *buf, size_t len)
{
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, buf, (int)len) < 0)
		buf[0] = '\0';
}

int
hm_renew(hm_responder *r, const unsigned char *peer, size_t peerlen,
    const unsigned char *csrbuf, size_t csrlen, char **pem, size_t *pemlen,
    hm_err *err)
{
	hm_ca			*ca = hm_responder_ca(r);
	hm_store		*st = ca->store;
	const unsigned char	*p = peer;
	hm_cert_info		 ci;
	hm_issue_req		 req;
	hm_profile_id		 prof;
	hm_signer		*s;
	hm_names		*sans = NULL;
	hm_csr			*csr = NULL;
	hm_cert			*c = NULL;
	unsigned char		*der = NULL;
	size_t			 derlen;
	char			 serial[41], cn[65], *chain = NULL, *out = NULL;
	size_t			 chainlen, certlen;
	char			*certpem = NULL;
	X509			*x = NULL;
	int			 rc;

	if ((x = d2i_X509(NULL, &p, (long)peerlen)) == NULL ||
	    p != peer + peerlen || hm_x509_serial_hex(x, serial) == -1) {
		rc = hm_seterr(err, HM_E_INVALID, "the peer's certificate does "
		    "not parse");
		goto out;
	}
	/* The certificate the store holds, byte for byte, and valid. */
	if ((rc = st->ops->cert_get(st, serial, &ci, &der, &derlen, NULL)) ==
	    HM_E_NOTFOUND || (rc == HM_OK && (derlen != peerlen ||
	    memcmp(der, peer, peerlen) != 0))) {
		rc = hm_seterr(err, HM_E_POLICY, "certificate %s is not one "
		    "this CA issued", serial);
		goto out;
	}
	if (rc != HM_OK) {
		rc = hm_seterr(err, rc, "store: looking up %s", serial);
		goto out;
	}
	if (strcmp(ci.status, "valid") != 0) {
		rc = hm_seterr(err, HM_E_POLICY, "certificate %s is %s: it can "
		    "not be renewed", serial, ci.status);
		goto out;
	}
	if (ci.not_after <= time(NULL)) {
		rc = hm_seterr(err, HM_E_POLICY, "certificate %s expired: it "
		    "can not be renewed (enroll again)", serial);
		goto out;
	}
	if (hm_profile_parse(ci.profile, &prof, NULL) != HM_OK) {
		rc = hm_seterr(err, HM_E_POLICY, "certificate %s has profile "
		    "'%s': only server, client and both renew here", serial,
		    ci.profile);
		goto out;
	}
	if ((s = hm_responder_signer(r, ci.ca)) == NULL) {
		rc = hm_seterr(err, HM_E_POLICY, "CA '%s' of certificate %s is "
		    "not online", ci.ca, serial);
		goto out;
	}
	if ((rc = hm_csr_parse(csrbuf, csrlen, &csr, err)) != HM_OK)
		goto out;
	if ((rc = hm_names_split(ci.sans, &sans, err)) != HM_OK)
		goto out;
	cn_of(x, cn, sizeof(cn));
	memset(&req, 0, sizeof(req));
	req.profile = prof;
	req.csr = csr;
	req.cn = cn[0] != '\0' ? cn : NULL;
	req.sans = sans;
	/* As long-lived as the one it replaces (never past the CA's). */
	if (ci.not_after > ci.issued_at)
		req.validity = (int64_t)(ci.not_after - ci.issued_at);
	if ((rc = st->ops->begin(st, err)) != HM_OK)
		goto out;
	if ((rc = hm_issue_in_tx(s, &req, &c, err)) != HM_OK ||
	    (rc = st->ops->cert_supersede(st, serial, hm_cert_serial(c),
	    err)) != HM_OK || (rc = st->ops->commit(st, err)) != HM_OK) {
		st->ops->rollback(st);
		if (rc == HM_E_EXISTS)
			rc = hm_seterr(err, HM_E_POLICY, "certificate %s was "
			    "renewed or revoked meanwhile", serial);
		goto out;
	}
	if ((rc = hm_cert_pem(c, &certpem, &certlen, err)) != HM_OK ||
	    (rc = hm_signer_chain_pem(s, &chain, &chainlen, err)) != HM_OK)
		goto out;
	if ((out = malloc(certlen + chainlen + 1)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(out, certpem, certlen);
	memcpy(out + certlen, chain, chainlen);
	out[certlen + chainlen] = '\0';
	*pem = out;
	*pemlen = certlen + chainlen;
	out = NULL;
	rc = HM_OK;
 out:
	free(out);
	free(certpem);
	free(chain);
	free(der);
	hm_cert_free(c);
	hm_csr_free(csr);
	hm_names_free(sans);
	X509_free(x);
	return rc;
}

#define PEM_CERTS_MAX	17

/* The certificates of a PEM text, in order: at least one, at most max. */
static int
pem_certs(const char *pem, size_t len, X509 **v, size_t max, size_t *n,
    const char *what, hm_err *err)
{
	BIO	*b;
	X509	*x;
	size_t	 i = 0;

	if (len > INT_MAX || (b = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	while (i < max && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) !=
	    NULL)
		v[i++] = x;
	BIO_free(b);
	ERR_clear_error();
	if (i == 0) {
		return hm_seterr(err, HM_E_INVALID, "%s holds no PEM "
		    "certificate", what);
	}
	*n = i;
	return HM_OK;
}

int
hm_renewed_check(const char *pem, size_t len, const hm_key *key,
    const char *ca_file, char **cert, char **chain, hm_err *err)
{
	X509		*v[PEM_CERTS_MAX], *roots[PEM_CERTS_MAX];
	STACK_OF(X509)	*untrusted = NULL;
	unsigned char	*ca = NULL;
	char		*c = NULL, *ch = NULL;
	size_t		 n = 0, nr = 0, calen, i, l;
	int		 rc;

	if ((rc = pem_certs(pem, len, v, PEM_CERTS_MAX, &n, "the reply",
	    err)) != HM_OK)
		return rc;
	if ((rc = hm_file_read(ca_file, 1024 * 1024, &ca, &calen, err)) !=
	    HM_OK || (rc = pem_certs((char *)ca, calen, roots, PEM_CERTS_MAX,
	    &nr, ca_file, err)) != HM_OK)
		goto out;
	if ((untrusted = sk_X509_new_null()) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	for (i = 1; i < n; i++)
		if (!sk_X509_push(untrusted, v[i])) {
			rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
			goto out;
		}
	if ((rc = hm_leaf_verify(v[0], untrusted, roots, nr, key, err)) !=
	    HM_OK ||
	    (rc = hm_x509_pem(v, 1, &c, &l, err)) != HM_OK ||
	    (rc = hm_x509_pem(v, n, &ch, &l, err)) != HM_OK)
		goto out;
	*cert = c;
	*chain = ch;
	c = ch = NULL;
 out:
	free(c);
	free(ch);
	free(ca);
	sk_X509_free(untrusted);
	for (i = 0; i < n; i++)
		X509_free(v[i]);
	for (i = 0; i < nr; i++)
		X509_free(roots[i]);
	return rc;
}
