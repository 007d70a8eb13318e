/*
 * Renewal: a machine proves its current certificate over mutual TLS and
 * gets a new one with the same names and profile from the same CA; the
 * old one is marked superseded in the transaction that records the new.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	if ((sans = hm_names_new()) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	{
		char	buf[sizeof(ci.sans)], *q, *save = NULL;

		snprintf(buf, sizeof(buf), "%s", ci.sans);
		for (q = strtok_r(buf, ",", &save); q != NULL;
		    q = strtok_r(NULL, ",", &save))
			if ((rc = hm_names_add(sans, q, err)) != HM_OK)
				goto out;
	}
	cn_of(x, cn, sizeof(cn));
	memset(&req, 0, sizeof(req));
	req.profile = prof;
	req.csr = csr;
	req.cn = cn[0] != '\0' ? cn : NULL;
	req.sans = sans;
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
