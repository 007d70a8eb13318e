/* Issued certificates: DER, PEM and the fields the store records. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "internal.h"

int
hm_x509_serial_hex(const X509 *x, char out[41])
{
	const ASN1_INTEGER	*ai = X509_get0_serialNumber(x);
	const unsigned char	*d = ASN1_STRING_get0_data(ai);
	int			 n = ASN1_STRING_length(ai);

	/* Our serials are positive; strip leading zero bytes for one form. */
	while (n > 1 && d[0] == 0) {
		d++;
		n--;
	}
	if (n <= 0 || n > 20 || hm_hex(d, (size_t)n, out, 41) == -1)
		return -1;
	/* Canonical form drops a leading zero nibble too. */
	if (out[0] == '0' && out[1] != '\0')
		memmove(out, out + 1, strlen(out));
	return 0;
}

/* Wrap x (taken) with its DER encoding. */
hm_cert *
hm_cert_from_x509(X509 *x, hm_err *err)
{
	hm_cert	*c;
	int	 len;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		X509_free(x);
		hm_seterr(err, HM_E_NOMEM, "out of memory");
		return NULL;
	}
	c->x509 = x;
	if ((len = i2d_X509(x, &c->der)) <= 0 ||
	    hm_x509_serial_hex(x, c->serial) == -1) {
		hm_cert_free(c);
		hm_seterr_ssl(err, HM_E_INTERNAL, "encoding the certificate");
		return NULL;
	}
	c->derlen = (size_t)len;
	return c;
}

void
hm_cert_free(hm_cert *c)
{
	if (c == NULL)
		return;
	X509_free(c->x509);
	OPENSSL_free(c->der);
	free(c);
}

const unsigned char *
hm_cert_der(const hm_cert *c, size_t *len)
{
	*len = c->derlen;
	return c->der;
}

void
hm_cert_subject(const hm_cert *c, char *buf, size_t len)
{
	hm_name_oneline(X509_get_subject_name(c->x509), buf, len);
}

const char *
hm_cert_serial(const hm_cert *c)
{
	return c->serial;
}

time_t
hm_cert_not_after(const hm_cert *c)
{
	return hm_asn1_time_to_time(X509_get0_notAfter(c->x509));
}

int
hm_x509_pem(X509 *const *v, size_t n, char **pem, size_t *len, hm_err *err)
{
	BIO	*b;
	BUF_MEM	*mem;
	size_t	 i;
	int	 rc = HM_OK;

	if ((b = BIO_new(BIO_s_mem())) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	for (i = 0; i < n; i++)
		if (!PEM_write_bio_X509(b, v[i])) {
			rc = hm_seterr_ssl(err, HM_E_INTERNAL, "PEM encoding");
			goto out;
		}
	BIO_get_mem_ptr(b, &mem);
	if ((*pem = malloc(mem->length + 1)) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto out;
	}
	if (mem->length > 0)
		memcpy(*pem, mem->data, mem->length);
	(*pem)[mem->length] = '\0';
	*len = mem->length;
 out:
	BIO_free(b);
	return rc;
}

int
hm_cert_pem(const hm_cert *c, char **pem, size_t *len, hm_err *err)
{
	return hm_x509_pem(&c->x509, 1, pem, len, err);
}

/* The store's record of c; der is borrowed from c. */
int
hm_cert_rec_fill(hm_cert_rec *r, const hm_cert *c, const char *ca,
    const char *profile, const hm_names *sans, hm_err *err)
{
	unsigned char	*spki = NULL;
	int		 len;

	memset(r, 0, sizeof(*r));
	memcpy(r->info.serial, c->serial, sizeof(r->info.serial));
	if (strlen(ca) > HM_CA_NAME_MAX)
		return hm_seterr(err, HM_E_INVALID, "CA name too long");
	strncpy(r->info.ca, ca, sizeof(r->info.ca) - 1);
	hm_name_oneline(X509_get_subject_name(c->x509), r->info.subject,
	    sizeof(r->info.subject));
	hm_name_oneline(X509_get_issuer_name(c->x509), r->info.issuer,
	    sizeof(r->info.issuer));
	if (sans != NULL && hm_names_join(sans, r->info.sans,
	    sizeof(r->info.sans)) == -1)
		return hm_seterr(err, HM_E_POLICY, "names too long to record "
		    "(at most %zu characters)", sizeof(r->info.sans) - 1);
	if (strlen(profile) >= sizeof(r->info.profile))
		return hm_seterr(err, HM_E_INVALID, "profile name too long");
	strncpy(r->info.profile, profile, sizeof(r->info.profile) - 1);
	strncpy(r->info.status, "valid", sizeof(r->info.status) - 1);
	r->info.not_before = hm_asn1_time_to_time(X509_get0_notBefore(c->x509));
	r->info.not_after = hm_asn1_time_to_time(X509_get0_notAfter(c->x509));
	r->info.issued_at = time(NULL);
	if ((len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c->x509), &spki)) <= 0)
		return hm_seterr_ssl(err, HM_E_INTERNAL, "encoding the key");
	hm_sha256_hex(spki, (size_t)len, r->info.spki_sha256);
	OPENSSL_free(spki);
	r->der = c->der;
	r->derlen = c->derlen;
	return HM_OK;
}

time_t
hm_cert_not_before(const hm_cert *c)
{
	return hm_asn1_time_to_time(X509_get0_notBefore(c->x509));
}

int
hm_pem_no_pass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

X509 *
hm_x509_from_pem(const void *buf, size_t len)
{
	BIO	*b;
	X509	*x;

	if (len > INT_MAX || (b = BIO_new_mem_buf(buf, (int)len)) == NULL)
		return NULL;
	x = PEM_read_bio_X509(b, NULL, hm_pem_no_pass, NULL);
	BIO_free(b);
	return x;
}

int
hm_cert_load(const char *path, hm_cert **out, hm_err *err)
{
	unsigned char		*buf = NULL;
	const unsigned char	*p;
	size_t			 len;
	X509			*x = NULL;
	hm_cert			*c;
	int			 rc;

	if ((rc = hm_file_read(path, 1024 * 1024, &buf, &len, err)) != HM_OK)
		return rc;
	p = buf;
	if (len > 0 && buf[0] == 0x30)
		x = d2i_X509(NULL, &p, (long)len);
	else
		x = hm_x509_from_pem(buf, len);
	free(buf);
	if (x == NULL)
		return hm_seterr_ssl(err, HM_E_INVALID, "%.200s: no certificate",
		    path);
	if ((c = hm_cert_from_x509(x, err)) == NULL)
		return err != NULL ? err->code : HM_E_NOMEM;
	*out = c;
	return HM_OK;
}
