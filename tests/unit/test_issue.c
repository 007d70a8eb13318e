/*
 * lib/issue.c: the issuance pipeline.  Policy over the CSR, names, time,
 * serials, atomic batches and chains, every certificate checked with
 * `openssl verify`.
 */
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "testutil.h"

static hm_ca		*ca;
static hm_signer	*root;
static hm_key		*eckey;		/* a P-256 key for hm_csr_new */

static int
setup(void **state)
{
	hm_err		err;

	(void)state;
	tu_root_ca("ca", "Issue Root", &ca, &root);
	HM_CHECK(hm_key_generate(HM_KEY_P256, &eckey, &err), &err);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hm_key_free(eckey);
	hm_signer_free(root);
	hm_ca_close(ca);
	return 0;
}

static int
count_cb(const hm_cert_info *ci, void *arg)
{
	(void)ci;
	(*(size_t *)arg)++;
	return 0;
}

/* Certificates in the store (optionally of one CA). */
static size_t
stored(const char *caname)
{
	hm_list_filter	f;
	hm_err		err;
	size_t		n = 0;

	memset(&f, 0, sizeof(f));
	f.ca = caname;
	HM_CHECK(hm_cert_list(ca, &f, count_cb, &n, &err), &err);
	return n;
}

static hm_names *
names(const char *a, const char *b)
{
	hm_names	*n = hm_names_new();
	hm_err		 err;

	assert_non_null(n);
	if (a != NULL)
		HM_CHECK(hm_names_add(n, a, &err), &err);
	if (b != NULL)
		HM_CHECK(hm_names_add(n, b, &err), &err);
	return n;
}

static hm_csr *
csr_new(const char *cn, const hm_names *sans)
{
	hm_csr	*c;
	hm_err	 err;

	HM_CHECK(hm_csr_new(eckey, cn, sans, &c, &err), &err);
	return c;
}

/* A CSR made by `openssl req` with the given extra arguments. */
static hm_csr *
openssl_csr(const char *name, const char *args)
{
	char	 path[512];
	hm_csr	*c;
	hm_err	 err;

	snprintf(path, sizeof(path), "%s", tu_path(name));
	assert_int_equal(tu_sh("openssl req -new -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -keyout '%s.key' -out '%s' %s "
	    "2>/dev/null", path, path, args), 0);
	HM_CHECK(hm_csr_load(path, &c, &err), &err);
	return c;
}

/* The SAN of x as "dns:a,ip:b". */
static void
san_string(X509 *x, char *buf, size_t len)
{
	GENERAL_NAMES		*g;
	const GENERAL_NAME	*gn;
	const ASN1_STRING	*s;
	char			 ip[64];
	size_t			 o = 0;
	int			 i;

	buf[0] = '\0';
	if ((g = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL)) ==
	    NULL)
		return;
	for (i = 0; i < sk_GENERAL_NAME_num(g); i++) {
		gn = sk_GENERAL_NAME_value(g, i);
		if (gn->type == GEN_DNS) {
			s = gn->d.dNSName;
			o += (size_t)snprintf(buf + o, len - o, "%sdns:%.*s",
			    i ? "," : "", ASN1_STRING_length(s),
			    (const char *)ASN1_STRING_get0_data(s));
		} else if (gn->type == GEN_IPADD) {
			s = gn->d.iPAddress;
			inet_ntop(ASN1_STRING_length(s) == 4 ? AF_INET :
			    AF_INET6, ASN1_STRING_get0_data(s), ip, sizeof(ip));
			o += (size_t)snprintf(buf + o, len - o, "%sip:%s",
			    i ? "," : "", ip);
		} else
			o += (size_t)snprintf(buf + o, len - o, "%s?%d",
			    i ? "," : "", gn->type);
		assert_true(o < len);
	}
	GENERAL_NAMES_free(g);
}

static void
subject_cn(X509 *x, char *buf, size_t len)
{
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, buf, (int)len) > 0);
}

/* The EKU of x: a bitmask of 1 serverAuth, 2 clientAuth, 4 other. */
static int
eku_mask(X509 *x)
{
	EXTENDED_KEY_USAGE	*eku;
	int			 i, m = 0, nid;

	if ((eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL)) ==
	    NULL)
		return 0;
	for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
		m |= nid == NID_server_auth ? 1 : nid == NID_client_auth ? 2 :
		    4;
	}
	assert_int_equal(sk_ASN1_OBJECT_num(eku), (m & 1) + !!(m & 2) +
	    !!(m & 4));
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return m;
}

/* Whether the CSR file at path asks for extension nid (read by OpenSSL). */
static int
csr_requests(const char *path, int nid)
{
	STACK_OF(X509_EXTENSION)	*exts;
	X509_REQ			*req;
	BIO				*b;
	int				 r;

	assert_non_null(b = BIO_new_file(path, "r"));
	assert_non_null(req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL));
	assert_non_null(exts = X509_REQ_get_extensions(req));
	r = X509v3_get_ext_by_NID(exts, nid, -1) >= 0;
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	BIO_free(b);
	return r;
}

static void
test_csr_extensions_ignored(void **state)
{
	hm_csr		*csr;
	hm_names	*over;
	hm_cert		*c;
	hm_issue_req	 req;
	hm_err		 err;
	BASIC_CONSTRAINTS *bc;
	X509		*x;
	char		 buf[256], hp[512];
	int		 crit;

	(void)state;
	snprintf(hp, sizeof(hp), "%s", tu_path("hostile.csr"));
	csr = openssl_csr("hostile.csr", "-subj /CN=hostile.test "
	    "-addext 'basicConstraints=critical,CA:TRUE,pathlen:5' "
	    "-addext 'keyUsage=critical,keyCertSign,cRLSign' "
	    "-addext 'extendedKeyUsage=codeSigning,emailProtection' "
	    "-addext 'subjectAltName=DNS:hostile.test,DNS:*.bank.test,"
	    "IP:10.9.9.9' "
	    "-addext 'nameConstraints=critical,permitted;DNS:.hostile.test'");
	/* The fixture asks for what we claim it does. */
	assert_true(csr_requests(hp, NID_basic_constraints));
	assert_true(csr_requests(hp, NID_key_usage));
	assert_true(csr_requests(hp, NID_ext_key_usage));
	assert_true(csr_requests(hp, NID_subject_alt_name));
	assert_true(csr_requests(hp, NID_name_constraints));

	over = names("dns:good.test", "ip:192.0.2.10");
	memset(&req, 0, sizeof(req));
	req.profile = HM_PROFILE_SERVER;
	req.csr = csr;
	req.sans = over;
	HM_CHECK(hm_issue(root, &req, &c, NULL, &err), &err);
	x = tu_x509(c);

	assert_non_null(bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit,
	    NULL));
	assert_int_equal(crit, 1);
	assert_false(bc->ca);
	assert_null(bc->pathlen);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(X509_check_ca(x), 0);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_int_equal(eku_mask(x), 1);		/* serverAuth only */
	san_string(x, buf, sizeof(buf));
	assert_string_equal(buf, "dns:good.test,ip:192.0.2.10");
	assert_true(X509_get_ext_by_NID(x, NID_name_constraints, -1) < 0);
	/* BC, KU, EKU, SKI, AKI, SAN and nothing else. */
	assert_int_equal(X509_get_ext_count(x), 6);
	subject_cn(x, buf, sizeof(buf));
	assert_string_equal(buf, "hostile.test");
	X509_free(x);
	assert_int_equal(tu_verify(root, c, "sslserver"), 0);
	/* Not usable to sign anything else. */
	assert_int_equal(tu_verify(root, c, "sslclient"), 2);
	hm_cert_free(c);

	/* The client profile overrides the EKU the same way. */
	req.profile = HM_PROFILE_CLIENT;
	HM_CHECK(hm_issue(root, &req, &c, NULL, &err), &err);
	x = tu_x509(c);
	assert_int_equal(eku_mask(x), 2);
	assert_int_equal(X509_check_ca(x), 0);
	X509_free(x);
	assert_int_equal(tu_verify(root, c, "sslclient"), 0);
	hm_cert_free(c);

	hm_names_free(over);
	hm_csr_free(csr);
}

static void
test_csr_names_used(void **state)
{
	hm_csr		*csr;
	hm_cert		*c;
	hm_cert_info	 ci;
	hm_issue_req	 req;
	hm_err		 err;
	X509		*x;
	char		 buf[256];

	(void)state;
	csr = openssl_csr("names.csr", "-subj /CN=web.test -addext "
	    "'subjectAltName=DNS:web.test,DNS:Alt.Test,IP:192.0.2.5'");
	memset(&req, 0, sizeof(req));
	req.profile = HM_PROFILE_BOTH;
	req.csr = csr;
	HM_CHECK(hm_issue(root, &req, &c, NULL, &err), &err);
	x = tu_x509(c);
	san_string(x, buf, sizeof(buf));
	assert_string_equal(buf, "dns:web.test,dns:alt.test,ip:192.0.2.5");
	subject_cn(x, buf, sizeof(buf));
	assert_string_equal(buf, "web.test");
	X509_free(x);
	assert_int_equal(tu_verify(root, c, "sslserver"), 0);
	assert_int_equal(tu_verify(root, c, "sslclient"), 0);

	/* The store records what was issued. */
	HM_CHECK(hm_cert_lookup(ca, hm_cert_serial(c), &ci, NULL, &err), &err);
	assert_string_equal(ci.sans, "dns:web.test,dns:alt.test,ip:192.0.2.5");
	assert_string_equal(ci.subject, "CN=web.test");
	assert_string_equal(ci.profile, "both");
	assert_string_equal(ci.ca, "root");
	assert_string_equal(ci.status, "valid");
	hm_cert_free(c);

	/* --cn overrides the CSR's CN, the SANs stay the CSR's. */
	req.cn = "Override CN";
	HM_CHECK(hm_issue(root, &req, &c, NULL, &err), &err);
	x = tu_x509(c);
	subject_cn(x, buf, sizeof(buf));
	assert_string_equal(buf, "Override CN");
	san_string(x, buf, sizeof(buf));
	assert_string_equal(buf, "dns:web.test,dns:alt.test,ip:192.0.2.5");
	X509_free(x);
	assert_int_equal(tu_verify(root, c, "sslserver"), 0);
	hm_cert_free(c);
	hm_csr_free(csr);

	/* No CN anywhere: the first SAN names the subject. */
	csr = openssl_csr("nocn.csr", "-subj /O=Org -addext "
	    "'subjectAltName=DNS:first.test,DNS:second.test'");
	assert_null(hm_csr_cn(csr));
	req.cn = NULL;
	req.csr = csr;
	req.profile = HM_PROFILE_SERVER;
	HM_CHECK(hm_issue(root, &req, &c, NULL, &err), &err);
	x = tu_x509(c);
	subject_cn(x, buf, sizeof(buf));
	assert_string_equal(buf, "first.test");
	/* Only the CN: the CSR's O is not copied. */
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 1);
	X509_free(x);
	assert_int_equal(tu_verify(root, c, "sslserver"), 0);
	hm_cert_free(c);
	hm_csr_free(csr);
}

static void
expect_refused(const hm_issue_req *req, int code)
{
	hm_cert	*c = (hm_cert *)&c;	/* sentinel: must stay untouched */
	hm_cert	*const sentinel = c;
	hm_err	 err = { 0, "" };
	int	 fl = 0x55;
	size_t	 before = stored(NULL);

	if (hm_issue(root, req, &c, &fl, &err) != code)
		fail_msg("profile %d, cn '%s': got %d (%s), want %d",
		    req->profile, req->cn != NULL ? req->cn : "(null)",
		    err.code, err.msg, code);
	assert_int_equal(err.code, code);
	assert_true(strlen(err.msg) > 0);
	assert_ptr_equal(c, sentinel);
	assert_int_equal(fl, 0x55);
	assert_int_equal(stored(NULL), before);
}

static void
test_san_required(void **state)
{
	hm_csr		*csr;
	hm_cert		*c;
	hm_issue_req	 req;
	hm_err		 err;
	hm_names	*empty = hm_names_new();

	(void)state;
	csr = openssl_csr("nosan.csr", "-subj /CN=nosan.test");
	assert_int_equal(hm_names_count(hm_csr_names(csr)), 0);
	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.profile = HM_PROFILE_SERVER;
	expect_refused(&req, HM_E_POLICY);
	req.profile = HM_PROFILE_BOTH;
	expect_refused(&req, HM_E_POLICY);
	/* An empty override is no override: still no SAN. */
	req.sans = empty;
	req.profile = HM_PROFILE_SERVER;
	expect_refused(&req, HM_E_POLICY);

	/* A client certificate may go without. */
	req.profile = HM_PROFILE_CLIENT;
	HM_CHECK(hm_issue(root, &req, &c, NULL, &err), &err);
	assert_int_equal(tu_verify(root, c, "sslclient"), 0);
	hm_cert_free(c);
	hm_names_free(empty);
	hm_csr_free(csr);
}

static void
test_wildcard(void **state)
{
	hm_names	*w = names("dns:*.x.test", NULL);
	hm_csr		*csr = csr_new("wild", NULL);
	hm_csr		*wcsr = csr_new("wild", w);
	hm_cert		*c;
	hm_issue_req	 req;
	hm_err		 err;
	X509		*x;
	char		 buf[128], *pem;
	size_t		 len;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.sans = w;
	req.profile = HM_PROFILE_SERVER;
	HM_CHECK(hm_issue(root, &req, &c, NULL, &err), &err);
	x = tu_x509(c);
	san_string(x, buf, sizeof(buf));
	assert_string_equal(buf, "dns:*.x.test");
	X509_free(x);
	assert_int_equal(tu_verify(root, c, "sslserver"), 0);
	HM_CHECK(hm_cert_pem(c, &pem, &len, &err), &err);
	tu_write(tu_path("wild.pem"), pem, len);
	free(pem);
	assert_int_equal(tu_sh("openssl x509 -in '%s' -noout -checkhost "
	    "a.x.test | grep -q 'does match'", tu_path("wild.pem")), 0);
	hm_cert_free(c);

	req.profile = HM_PROFILE_CLIENT;
	expect_refused(&req, HM_E_POLICY);
	/* From the CSR rather than an override: refused all the same. */
	req.sans = NULL;
	req.csr = wcsr;
	expect_refused(&req, HM_E_POLICY);
	hm_csr_free(wcsr);
	hm_csr_free(csr);
	hm_names_free(w);
}

static void
test_bad_requests(void **state)
{
	hm_names	*n = names("dns:ok.test", NULL);
	hm_csr		*csr = csr_new("ok", n);
	hm_csr		*odd;
	hm_cert		*c;
	hm_issue_req	 req;
	hm_err		 err;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.csr = csr;
	/* Only leaf profiles are issued through hm_issue. */
	req.profile = HM_PROFILE_NONE;
	expect_refused(&req, HM_E_INVALID);
	req.profile = HM_PROFILE_ROOT;
	expect_refused(&req, HM_E_INVALID);
	req.profile = HM_PROFILE_INTERMEDIATE;
	expect_refused(&req, HM_E_INVALID);
	req.profile = (hm_profile_id)42;
	expect_refused(&req, HM_E_INVALID);
	req.profile = HM_PROFILE_SERVER;
	req.csr = NULL;
	expect_refused(&req, HM_E_INVALID);
	req.csr = csr;
	req.cn = "";
	expect_refused(&req, HM_E_INVALID);
	req.cn = "bad\x01cn";
	expect_refused(&req, HM_E_INVALID);
	req.cn = NULL;

	/* SAN types hallmark never issues: only with an explicit override. */
	odd = openssl_csr("rid.csr", "-subj /CN=odd.test -addext "
	    "'subjectAltName=DNS:odd.test,RID:1.2.3.4'");
	req.csr = odd;
	expect_refused(&req, HM_E_POLICY);
	req.sans = n;
	HM_CHECK(hm_issue(root, &req, &c, NULL, &err), &err);
	assert_int_equal(tu_verify(root, c, "sslserver"), 0);
	hm_cert_free(c);
	hm_csr_free(odd);
	hm_csr_free(csr);
	hm_names_free(n);
}

static void
test_validity(void **state)
{
	hm_names	*n = names("dns:v.test", NULL);
	hm_csr		*csr = csr_new("v", n);
	hm_ca_params	 p;
	hm_signer	*shortca;
	hm_cert		*c;
	hm_issue_req	 req;
	hm_err		 err;
	X509		*x;
	time_t		 t0, t1, nb, na;
	int		 fl;

	(void)state;
	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.profile = HM_PROFILE_SERVER;

	/* Default: 90 days, notBefore backdated 5 minutes. */
	fl = 0x55;
	t0 = time(NULL);
	HM_CHECK(hm_issue(root, &req, &c, &fl, &err), &err);
	t1 = time(NULL);
	assert_int_equal(fl, 0);
	x = tu_x509(c);
	nb = hm_asn1_time_to_time(X509_get0_notBefore(x));
	na = hm_asn1_time_to_time(X509_get0_notAfter(x));
	assert_true(nb >= t0 - 300 && nb <= t1 - 300);
	assert_true(na >= t0 + 90 * 86400 && na <= t1 + 90 * 86400);
	X509_free(x);
	assert_int_equal(tu_verify(root, c, "sslserver"), 0);
	hm_cert_free(c);

	/* Explicit validity. */
	req.validity = 3600;
	t0 = time(NULL);
	HM_CHECK(hm_issue(root, &req, &c, &fl, &err), &err);
	t1 = time(NULL);
	assert_int_equal(fl, 0);
	na = hm_cert_not_after(c);
	assert_true(na >= t0 + 3600 && na <= t1 + 3600);
	assert_int_equal(tu_verify(root, c, "sslserver"), 0);
	hm_cert_free(c);

	/* Longer than the root's 10 years: cut to the root's notAfter. */
	req.validity = 20 * HM_YEAR;
	HM_CHECK(hm_issue(root, &req, &c, &fl, &err), &err);
	assert_int_equal(fl, HM_ISSUED_CLAMPED);
	assert_int_equal(hm_cert_not_after(c), root->info.not_after);
	x = tu_x509(c);
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(x),
	    X509_get0_notAfter(root->cert)), 0);
	X509_free(x);
	assert_int_equal(tu_verify(root, c, "sslserver"), 0);
	hm_cert_free(c);

	/* Under a CA of one day, a default 90-day request is cut too. */
	memset(&p, 0, sizeof(p));
	p.name = "short";
	p.cn = "Short CA";
	p.validity = 86400;
	p.pathlen = -1;
	HM_CHECK(hm_ca_new_intermediate(ca, root, &p, &c, NULL, &err), &err);
	hm_cert_free(c);
	HM_CHECK(hm_ca_signer(ca, "short", NULL, &shortca, &err), &err);
	req.validity = 0;
	fl = 0;
	HM_CHECK(hm_issue(shortca, &req, &c, &fl, &err), &err);
	assert_int_equal(fl, HM_ISSUED_CLAMPED);
	x = tu_x509(c);
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(x),
	    X509_get0_notAfter(shortca->cert)), 0);
	/* notBefore never before the issuer's either. */
	assert_true(ASN1_TIME_compare(X509_get0_notBefore(x),
	    X509_get0_notBefore(shortca->cert)) >= 0);
	X509_free(x);
	assert_int_equal(tu_verify(shortca, c, "sslserver"), 0);
	hm_cert_free(c);
	/* flags may be NULL. */
	HM_CHECK(hm_issue(shortca, &req, &c, NULL, &err), &err);
	assert_int_equal(hm_cert_not_after(c), shortca->info.not_after);
	hm_cert_free(c);
	hm_signer_free(shortca);
	hm_csr_free(csr);
	hm_names_free(n);
}

static void
test_expired_ca(void **state)
{
	hm_names	*n = names("dns:late.test", NULL);
	hm_csr		*csr = csr_new("late", n);
	hm_ca_params	 p;
	hm_signer	*s;
	hm_cert		*c;
	hm_issue_req	 req;
	hm_err		 err;
	size_t		 before;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.name = "brief";
	p.cn = "Brief CA";
	p.validity = 1;
	p.pathlen = -1;
	HM_CHECK(hm_ca_new_intermediate(ca, root, &p, &c, NULL, &err), &err);
	hm_cert_free(c);
	HM_CHECK(hm_ca_signer(ca, "brief", NULL, &s, &err), &err);
	sleep(2);
	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.profile = HM_PROFILE_SERVER;
	before = stored(NULL);
	c = NULL;
	assert_int_equal(hm_issue(s, &req, &c, NULL, &err), HM_E_POLICY);
	assert_null(c);
	assert_int_equal(stored(NULL), before);
	hm_signer_free(s);
	hm_csr_free(csr);
	hm_names_free(n);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct seen {
	char	**v;
	size_t	  n;
	int	  bad;
};

#define BULK	1000
#define BATCH	250

static void
test_serials(void **state)
{
	hm_names	*n = names("dns:bulk.test", NULL);
	hm_csr		*csr = csr_new("bulk", n);
	hm_issue_req	*reqs;
	hm_cert		*out[BATCH];
	char		**serials;
	char		 dir[512];
	const ASN1_INTEGER *sn;
	hm_cert_info	 ci;
	hm_err		 err;
	X509		*x;
	size_t		 i, j, k, before, tops = 0;
	int		 top[256] = { 0 };
	char		*pem;
	size_t		 pemlen;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", tu_path("bulk"));
	assert_int_equal(tu_sh("mkdir -p '%s'", dir), 0);
	assert_non_null(reqs = calloc(BATCH, sizeof(*reqs)));
	assert_non_null(serials = calloc(BULK, sizeof(*serials)));
	for (i = 0; i < BATCH; i++) {
		reqs[i].profile = HM_PROFILE_SERVER;
		reqs[i].csr = csr;
	}
	before = stored("root");
	for (k = 0, j = 0; k < BULK / BATCH; k++) {
		HM_CHECK(hm_issue_batch(root, reqs, BATCH, out, &err), &err);
		for (i = 0; i < BATCH; i++, j++) {
			assert_non_null(out[i]);
			x = tu_x509(out[i]);
			sn = X509_get0_serialNumber(x);
			assert_int_equal(ASN1_STRING_length(sn), HM_SERIAL_LEN);
			assert_int_equal(ASN1_STRING_type(sn), V_ASN1_INTEGER);
			top[ASN1_STRING_get0_data(sn)[0]]++;
			X509_free(x);
			assert_int_equal(strlen(hm_cert_serial(out[i])),
			    2 * HM_SERIAL_LEN);
			assert_non_null(serials[j] =
			    strdup(hm_cert_serial(out[i])));
			HM_CHECK(hm_cert_pem(out[i], &pem, &pemlen, &err),
			    &err);
			snprintf(dir, sizeof(dir), "bulk/%s.pem", serials[j]);
			tu_write(tu_path(dir), pem, pemlen);
			free(pem);
			hm_cert_free(out[i]);
		}
	}
	/* All distinct. */
	qsort(serials, BULK, sizeof(*serials), cmp_str);
	for (i = 1; i < BULK; i++)
		if (strcmp(serials[i - 1], serials[i]) == 0)
			fail_msg("serial %s issued twice", serials[i]);
	/* Positive, and the random bits reach the top byte. */
	for (i = 0; i < 256; i++)
		if (top[i] > 0) {
			assert_true(i >= 0x01 && i <= 0x7f);
			tops++;
		}
	if (tops < 32)
		fail_msg("only %zu distinct top bytes in %d serials", tops,
		    BULK);
	/* All of them in the store, each findable by its serial. */
	assert_int_equal(stored("root"), before + BULK);
	for (i = 0; i < BULK; i++) {
		HM_CHECK(hm_cert_lookup(ca, serials[i], &ci, NULL, &err),
		    &err);
		assert_string_equal(ci.serial, serials[i]);
	}
	for (i = 0; i < BULK; i++)
		free(serials[i]);
	/* And every one verifies (openssl verify exits 2 if one fails). */
	HM_CHECK(hm_signer_root_pem(root, &pem, &pemlen, &err), &err);
	tu_write(tu_path("bulk-root.pem"), pem, pemlen);
	free(pem);
	assert_int_equal(tu_sh("cd '%s' && out=$(openssl verify -x509_strict "
	    "-purpose sslserver -CAfile ../bulk-root.pem *.pem) && "
	    "test $(printf '%%s\\n' \"$out\" | grep -c ': OK$') -eq %d",
	    tu_path("bulk"), BULK), 0);
	free(serials);
	free(reqs);
	hm_csr_free(csr);
	hm_names_free(n);
}

static void
test_batch_atomic(void **state)
{
	hm_names	*n = names("dns:b.test", NULL);
	hm_csr		*csr = csr_new("b", n);
	hm_csr		*nosan = csr_new("nosan", NULL);
	hm_issue_req	 reqs[3];
	hm_cert		*out[3];
	hm_err		 err;
	size_t		 before, i;

	(void)state;
	memset(reqs, 0, sizeof(reqs));
	for (i = 0; i < 3; i++) {
		reqs[i].profile = HM_PROFILE_SERVER;
		reqs[i].csr = csr;
		out[i] = (hm_cert *)&out[i];
	}
	reqs[2].csr = nosan;		/* the last one is refused */
	before = stored(NULL);
	assert_int_equal(hm_issue_batch(root, reqs, 3, out, &err),
	    HM_E_POLICY);
	assert_int_equal(err.code, HM_E_POLICY);
	assert_int_equal(stored(NULL), before);
	for (i = 0; i < 3; i++)
		assert_ptr_equal(out[i], (hm_cert *)&out[i]);

	/* Nothing to do is no error. */
	HM_CHECK(hm_issue_batch(root, reqs, 0, out, &err), &err);
	assert_int_equal(stored(NULL), before);

	/* The store is still usable after the rollback. */
	reqs[2].csr = csr;
	HM_CHECK(hm_issue_batch(root, reqs, 3, out, &err), &err);
	assert_int_equal(stored(NULL), before + 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(tu_verify(root, out[i], "sslserver"), 0);
		hm_cert_free(out[i]);
	}
	hm_csr_free(nosan);
	hm_csr_free(csr);
	hm_names_free(n);
}

/* Committed before returned: another connection sees it at once. */
static void
test_durable_on_return(void **state)
{
	hm_names	*n = names("dns:d.test", NULL);
	hm_csr		*csr = csr_new("d", n);
	hm_ca		*other;
	hm_cert		*c, *back;
	hm_cert_info	 ci;
	hm_issue_req	 req;
	hm_err		 err;
	const unsigned char *d1, *d2;
	size_t		 l1, l2;

	(void)state;
	HM_CHECK(hm_ca_open(tu_path("ca"), &other, &err), &err);
	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.profile = HM_PROFILE_SERVER;
	HM_CHECK(hm_issue(root, &req, &c, NULL, &err), &err);
	HM_CHECK(hm_cert_lookup(other, hm_cert_serial(c), &ci, &back, &err),
	    &err);
	d1 = hm_cert_der(c, &l1);
	d2 = hm_cert_der(back, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(d1, d2, l1);
	assert_string_equal(ci.profile, "server");
	assert_int_equal(ci.not_after, hm_cert_not_after(c));
	assert_int_equal(tu_verify(root, c, "sslserver"), 0);
	hm_cert_free(back);
	hm_cert_free(c);
	hm_ca_close(other);
	hm_csr_free(csr);
	hm_names_free(n);
}

static void
test_depth3_chain(void **state)
{
	hm_names	*n = names("dns:deep.test", "ip:2001:db8::7");
	hm_csr		*csr = csr_new("deep", n);
	hm_ca_params	 p;
	hm_signer	*m1, *m2;
	hm_cert		*c;
	hm_issue_req	 req;
	hm_err		 err;
	X509		*x;
	char		*pem;
	size_t		 len;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.name = "m1";
	p.cn = "Depth Mid 1";
	p.pathlen = 1;
	HM_CHECK(hm_ca_new_intermediate(ca, root, &p, &c, NULL, &err), &err);
	hm_cert_free(c);
	HM_CHECK(hm_ca_signer(ca, "m1", NULL, &m1, &err), &err);
	p.name = "m2";
	p.cn = "Depth Mid 2";
	p.pathlen = -1;
	p.key_type = HM_KEY_P384;
	HM_CHECK(hm_ca_new_intermediate(ca, m1, &p, &c, NULL, &err), &err);
	hm_cert_free(c);
	HM_CHECK(hm_ca_signer(ca, "m2", NULL, &m2, &err), &err);

	memset(&req, 0, sizeof(req));
	req.csr = csr;
	req.profile = HM_PROFILE_BOTH;
	HM_CHECK(hm_issue(m2, &req, &c, NULL, &err), &err);
	x = tu_x509(c);
	assert_int_equal(X509_check_issued(m2->cert, x), X509_V_OK);
	X509_free(x);
	HM_CHECK(hm_signer_chain_pem(m2, &pem, &len, &err), &err);
	assert_int_equal(strlen(pem), len);
	free(pem);
	assert_int_equal(tu_verify(m2, c, "sslserver"), 0);
	assert_int_equal(tu_verify(m2, c, "sslclient"), 0);
	assert_int_equal(stored("m2"), 1);
	hm_cert_free(c);
	hm_signer_free(m2);
	hm_signer_free(m1);
	hm_csr_free(csr);
	hm_names_free(n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csr_extensions_ignored),
		cmocka_unit_test(test_csr_names_used),
		cmocka_unit_test(test_san_required),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_validity),
		cmocka_unit_test(test_expired_ca),
		cmocka_unit_test(test_serials),
		cmocka_unit_test(test_batch_atomic),
		cmocka_unit_test(test_durable_on_return),
		cmocka_unit_test(test_depth3_chain),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
