/*
 * lib/ca.c: CA directories, roots and intermediates, path lengths, names,
 * passphrases, validity, listing and chains; every certificate checked
 * with `openssl verify`.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "testutil.h"

#define PASS	"correct horse battery staple"

/* A root with unlimited path length, shared by most tests. */
static hm_ca		*ca;
static hm_signer	*root;
static char		 cadir[512];

static void
params(hm_ca_params *p, const char *name, const char *cn, int pathlen)
{
	memset(p, 0, sizeof(*p));
	p->name = name;
	p->cn = cn;
	p->pathlen = pathlen;
}

static int
setup(void **state)
{
	hm_ca_params	p;
	hm_err		err;

	(void)state;
	snprintf(cadir, sizeof(cadir), "%s", tu_path("ca"));
	params(&p, NULL, "CA Test Root", -1);
	HM_CHECK(hm_ca_init(cadir, &p, &ca, &err), &err);
	HM_CHECK(hm_ca_signer(ca, NULL, NULL, &root, &err), &err);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hm_signer_free(root);
	hm_ca_close(ca);
	return 0;
}

static X509 *
load_x509(const char *path)
{
	BIO	*b;
	X509	*x;

	assert_non_null(b = BIO_new_file(path, "r"));
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(x);
	return x;
}

static X509 *
ca_x509(hm_ca *c, const char *name)
{
	char	path[600];

	assert_int_equal(hm_ca_cert_path(c, name, path, sizeof(path)), 0);
	return load_x509(path);
}

/* Create an intermediate under parent and return its signer. */
static hm_signer *
inter(hm_signer *parent, const char *name, int pathlen, const char *pass)
{
	hm_ca_params	 p;
	hm_signer	*s;
	hm_cert		*c;
	hm_err		 err;

	params(&p, name, name, pathlen);
	p.pass = pass;
	HM_CHECK(hm_ca_new_intermediate(ca, parent, &p, &c, NULL, &err), &err);
	/* The CA certificate verifies as a CA under its parent's chain. */
	assert_int_equal(tu_verify(parent, c, NULL), 0);
	hm_cert_free(c);
	HM_CHECK(hm_ca_signer(ca, name, pass, &s, &err), &err);
	return s;
}

/* Issue a server certificate under s and check it with openssl. */
static void
issue_ok(hm_signer *s)
{
	hm_key		*k;
	hm_names	*n = hm_names_new();
	hm_csr		*csr;
	hm_cert		*c;
	hm_issue_req	 req;
	hm_err		 err;

	HM_CHECK(hm_key_generate(HM_KEY_P256, &k, &err), &err);
	HM_CHECK(hm_names_add(n, "dns:svc.ca.test", &err), &err);
	HM_CHECK(hm_csr_new(k, "svc", n, &csr, &err), &err);
	memset(&req, 0, sizeof(req));
	req.profile = HM_PROFILE_SERVER;
	req.csr = csr;
	HM_CHECK(hm_issue(s, &req, &c, NULL, &err), &err);
	assert_int_equal(tu_verify(s, c, "sslserver"), 0);
	hm_cert_free(c);
	hm_csr_free(csr);
	hm_names_free(n);
	hm_key_free(k);
}

static int
mode_of(const char *path)
{
	struct stat	sb;

	assert_int_equal(stat(path, &sb), 0);
	return (int)(sb.st_mode & 07777);
}

static int
count_ca_cb(const hm_ca_info *ci, void *arg)
{
	(void)ci;
	(*(int *)arg)++;
	return 0;
}

static int
ca_count(hm_ca *c)
{
	hm_err	err;
	int	n = 0;

	HM_CHECK(hm_ca_list(c, count_ca_cb, &n, &err), &err);
	return n;
}

static int
count_cert_cb(const hm_cert_info *ci, void *arg)
{
	(void)ci;
	(*(int *)arg)++;
	return 0;
}

static int
cert_count(hm_ca *c)
{
	hm_list_filter	f;
	hm_err		err;
	int		n = 0;

	memset(&f, 0, sizeof(f));
	HM_CHECK(hm_cert_list(c, &f, count_cert_cb, &n, &err), &err);
	return n;
}

static void
test_init_layout(void **state)
{
	hm_ca_info	 ci;
	hm_err		 err;
	X509		*x;
	char		 path[600], serial[41];
	time_t		 now = time(NULL);

	(void)state;
	snprintf(path, sizeof(path), "%s/hallmark.db", cadir);
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(mode_of(cadir) & 0077, 0);
	snprintf(path, sizeof(path), "%s/ca", cadir);
	assert_int_equal(mode_of(path), 0700);
	snprintf(path, sizeof(path), "%s/ca/root", cadir);
	assert_int_equal(mode_of(path), 0700);
	snprintf(path, sizeof(path), "%s/ca/root/key.pem", cadir);
	assert_int_equal(mode_of(path), 0600);
	assert_false(hm_ca_key_encrypted(ca, NULL));
	/* The key is the certificate's. */
	assert_int_equal(tu_sh("cd '%s/ca/root' && test \"$(openssl pkey -in "
	    "key.pem -pubout)\" = \"$(openssl x509 -in cert.pem -noout "
	    "-pubkey)\"", cadir), 0);

	assert_int_equal(hm_ca_cert_path(ca, NULL, path, sizeof(path)), 0);
	assert_true(strstr(path, "/ca/root/cert.pem") != NULL);
	assert_int_equal(hm_ca_cert_path(ca, NULL, path, 10), -1);
	snprintf(path, sizeof(path), "%s/ca/root/cert.pem", cadir);
	assert_int_equal(tu_sh("openssl verify -x509_strict -CAfile '%s' '%s' "
	    ">/dev/null", path, path), 0);

	/* The store's record matches the certificate. */
	HM_CHECK(hm_ca_get_info(ca, NULL, &ci, &err), &err);
	assert_string_equal(ci.name, "root");
	assert_string_equal(ci.parent, "");
	assert_string_equal(ci.subject, "CN=CA Test Root");
	assert_int_equal(ci.pathlen, -1);
	assert_int_equal(ci.depth, 0);
	assert_int_equal(ci.key_type, HM_KEY_P256);
	assert_false(ci.encrypted);
	x = load_x509(path);
	assert_int_equal(hm_x509_serial_hex(x, serial), 0);
	assert_string_equal(ci.serial, serial);
	assert_int_equal(ci.not_before, hm_asn1_time_to_time(
	    X509_get0_notBefore(x)));
	assert_int_equal(ci.not_after, hm_asn1_time_to_time(
	    X509_get0_notAfter(x)));
	X509_free(x);
	/* 10 years by default, backdated a few minutes. */
	assert_true(ci.not_before <= now - 300 && ci.not_before > now - 400);
	assert_true(ci.not_after >= now + 10 * HM_YEAR - 100 &&
	    ci.not_after <= now + 10 * HM_YEAR);
	/* The root's certificate is in the inventory too. */
	HM_CHECK(hm_cert_lookup(ca, ci.serial, NULL, NULL, &err), &err);
	issue_ok(root);
}

static void
snapshot(const char *dir, const char *out)
{
	assert_int_equal(tu_sh("cd '%s' && find . -print0 | sort -z | "
	    "xargs -0 stat -c '%%n %%s %%a %%Y' > '%s' && find . -type f "
	    "-print0 | sort -z | xargs -0 sha256sum >> '%s'", dir, out, out),
	    0);
}

static void
test_init_refuses_existing(void **state)
{
	hm_ca_params	 p;
	hm_ca		*c = (hm_ca *)&c, *c2;
	hm_signer	*s;
	hm_err		 err = { 0, "" };
	char		 dir[512], before[512], after[512];

	(void)state;
	snprintf(dir, sizeof(dir), "%s", tu_path("twice"));
	snprintf(before, sizeof(before), "%s", tu_path("twice.before"));
	snprintf(after, sizeof(after), "%s", tu_path("twice.after"));
	params(&p, NULL, "First Root", -1);
	HM_CHECK(hm_ca_init(dir, &p, &c2, &err), &err);
	hm_ca_close(c2);
	snapshot(dir, before);
	sleep(1);	/* so that a rewrite would show in the mtimes */

	c = (hm_ca *)&c;
	params(&p, NULL, "Second Root", -1);
	assert_int_equal(hm_ca_init(dir, &p, &c, &err), HM_E_EXISTS);
	assert_int_equal(err.code, HM_E_EXISTS);
	assert_ptr_equal(c, (hm_ca *)&c);
	p.pass = PASS;
	p.key_type = HM_KEY_ED25519;
	assert_int_equal(hm_ca_init(dir, &p, &c, &err), HM_E_EXISTS);
	snapshot(dir, after);
	assert_int_equal(tu_sh("cmp -s '%s' '%s'", before, after), 0);

	/* The first CA still works. */
	HM_CHECK(hm_ca_open(dir, &c2, &err), &err);
	HM_CHECK(hm_ca_signer(c2, NULL, NULL, &s, &err), &err);
	assert_string_equal(s->info.subject, "CN=First Root");
	issue_ok(s);
	hm_signer_free(s);
	hm_ca_close(c2);

	/* Only the store left (no ca/): still refused, still untouched. */
	assert_int_equal(tu_sh("rm -r '%s/ca'", dir), 0);
	snapshot(dir, before);
	assert_int_equal(hm_ca_init(dir, &p, &c, &err), HM_E_EXISTS);
	assert_ptr_equal(c, (hm_ca *)&c);
	snapshot(dir, after);
	assert_int_equal(tu_sh("cmp -s '%s' '%s'", before, after), 0);
}

static void
test_init_failure_leaves_nothing(void **state)
{
	hm_ca_params	 p;
	hm_ca		*c = (hm_ca *)&c;
	hm_err		 err = { 0, "" };
	char		 dir[512];

	(void)state;
	snprintf(dir, sizeof(dir), "%s", tu_path("broken"));
	/* Refused before anything is created. */
	params(&p, NULL, "", -1);
	assert_int_equal(hm_ca_init(dir, &p, &c, &err), HM_E_INVALID);
	assert_int_equal(access(dir, F_OK), -1);
	/* Refused half-way (no such key type): nothing left behind. */
	params(&p, NULL, "Broken Root", -1);
	p.key_type = (hm_keytype)99;
	assert_int_equal(hm_ca_init(dir, &p, &c, &err), HM_E_INVALID);
	assert_ptr_equal(c, (hm_ca *)&c);
	assert_int_equal(tu_sh("test -z \"$(ls -A '%s')\"", dir), 0);
	/* So a second attempt is not blocked by leftovers. */
	p.key_type = HM_KEY_P256;
	HM_CHECK(hm_ca_init(dir, &p, &c, &err), &err);
	hm_ca_close(c);
	/* And a missing CA is not found. */
	assert_int_equal(hm_ca_open(tu_path("nosuch"), &c, &err),
	    HM_E_NOTFOUND);
}

static void
test_encrypted_root(void **state)
{
	hm_ca_params	 p;
	hm_ca		*c;
	hm_signer	*s = (hm_signer *)&s;
	hm_ca_info	 ci;
	hm_err		 err = { 0, "" };
	char		 dir[512];

	(void)state;
	snprintf(dir, sizeof(dir), "%s", tu_path("enc"));
	params(&p, NULL, "Encrypted Root", -1);
	p.pass = PASS;
	HM_CHECK(hm_ca_init(dir, &p, &c, &err), &err);
	assert_true(hm_ca_key_encrypted(c, NULL));
	HM_CHECK(hm_ca_get_info(c, NULL, &ci, &err), &err);
	assert_true(ci.encrypted);
	assert_int_equal(tu_sh("grep -q 'BEGIN ENCRYPTED PRIVATE KEY' "
	    "'%s/ca/root/key.pem' && ! grep -q 'BEGIN PRIVATE KEY' "
	    "'%s/ca/root/key.pem'", dir, dir), 0);
	/* openssl reads it with the passphrase, and only with it. */
	assert_int_equal(tu_sh("openssl pkey -in '%s/ca/root/key.pem' "
	    "-passin 'pass:" PASS "' -noout", dir), 0);
	assert_int_not_equal(tu_sh("openssl pkey -in '%s/ca/root/key.pem' "
	    "-passin pass:wrong -noout 2>/dev/null", dir), 0);

	assert_int_equal(hm_ca_signer(c, NULL, NULL, &s, &err),
	    HM_E_PASSPHRASE);
	assert_int_equal(err.code, HM_E_PASSPHRASE);
	assert_ptr_equal(s, (hm_signer *)&s);
	assert_int_equal(hm_ca_signer(c, NULL, "wrong", &s, &err),
	    HM_E_PASSPHRASE);
	assert_ptr_equal(s, (hm_signer *)&s);
	assert_int_equal(hm_ca_signer(c, NULL, "", &s, &err), HM_E_PASSPHRASE);
	assert_int_equal(hm_ca_signer(c, NULL, PASS "x", &s, &err),
	    HM_E_PASSPHRASE);
	assert_ptr_equal(s, (hm_signer *)&s);
	HM_CHECK(hm_ca_signer(c, NULL, PASS, &s, &err), &err);
	issue_ok(s);
	hm_signer_free(s);
	hm_ca_close(c);

	/* An unencrypted key does not mind a passphrase it does not need. */
	HM_CHECK(hm_ca_signer(ca, NULL, "unused", &s, &err), &err);
	hm_signer_free(s);
}

static void
test_encrypted_intermediate(void **state)
{
	hm_signer	*s = (hm_signer *)&s, *e;
	hm_ca_info	 ci;
	hm_err		 err = { 0, "" };

	(void)state;
	e = inter(root, "enc-mid", -1, PASS);
	assert_true(hm_ca_key_encrypted(ca, "enc-mid"));
	HM_CHECK(hm_ca_get_info(ca, "enc-mid", &ci, &err), &err);
	assert_true(ci.encrypted);
	assert_int_equal(hm_ca_signer(ca, "enc-mid", NULL, &s, &err),
	    HM_E_PASSPHRASE);
	assert_int_equal(hm_ca_signer(ca, "enc-mid", "nope", &s, &err),
	    HM_E_PASSPHRASE);
	assert_ptr_equal(s, (hm_signer *)&s);
	issue_ok(e);
	hm_signer_free(e);
}

/* Entries in DIR/ca: one a CA. */
static int
ca_dirs(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[600];
	int		 n = 0;

	snprintf(path, sizeof(path), "%s/ca", dir);
	assert_non_null(d = opendir(path));
	while ((de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* The intermediate p is refused with code, and nothing changes. */
static void
refused_in(hm_ca *c, const char *dir, hm_signer *parent,
    const hm_ca_params *p, int code)
{
	hm_cert	*cert = (hm_cert *)&cert;
	hm_err	 err = { 0, "" };
	int	 fl = 0x55, ncas = ca_count(c), ncerts = cert_count(c);
	int	 ndirs = ca_dirs(dir);

	if (hm_ca_new_intermediate(c, parent, p, &cert, &fl, &err) != code)
		fail_msg("CA '%s' (pathlen %d) under '%s': got %d (%s), "
		    "want %d", p->name != NULL ? p->name : "(null)",
		    p->pathlen, parent->info.name, err.code, err.msg, code);
	assert_int_equal(err.code, code);
	assert_true(strlen(err.msg) > 0);
	assert_ptr_equal(cert, (hm_cert *)&cert);
	assert_int_equal(fl, 0x55);
	assert_int_equal(ca_count(c), ncas);
	assert_int_equal(cert_count(c), ncerts);
	assert_int_equal(ca_dirs(dir), ndirs);
}

static void
expect_inter_refused(hm_signer *parent, const hm_ca_params *p, int code)
{
	refused_in(ca, cadir, parent, p, code);
}

/* 0 when every key file under dir/ca is encrypted, none in clear. */
static int
all_keys_encrypted(const char *dir)
{
	return tu_sh("cd '%s/ca' && ls */key.pem >/dev/null && "
	    "! grep -L 'BEGIN ENCRYPTED PRIVATE KEY' */key.pem | grep -q . && "
	    "! grep -Eq 'BEGIN (RSA |EC )?PRIVATE KEY' */key.pem", dir);
}

/*
 * An offline directory: made only with a passphrase, known as offline
 * when opened again; a new CA only under the root's passphrase, never
 * in clear; a key found in clear is refused.
 */
static void
test_offline(void **state)
{
	hm_ca_params	 p;
	hm_ca		*off = (hm_ca *)&off, *plain;
	hm_signer	*r, *m = (hm_signer *)&m;
	hm_cert		*c = NULL;
	hm_err		 err = { 0, "" };
	char		 dir[512], key[600], clear[700];
	hm_key		*k;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", tu_path("offline"));
	params(&p, NULL, "Offline Root", -1);
	p.offline = 1;
	assert_int_equal(hm_ca_init(dir, &p, &off, &err), HM_E_PASSPHRASE);
	assert_ptr_equal(off, (hm_ca *)&off);
	assert_int_equal(access(dir, F_OK), -1);
	p.pass = PASS;
	HM_CHECK(hm_ca_init(dir, &p, &off, &err), &err);
	assert_true(hm_ca_offline(off));
	hm_ca_close(off);
	/* The mark is in the store: every later command knows. */
	HM_CHECK(hm_ca_open(dir, &off, &err), &err);
	assert_true(hm_ca_offline(off));
	assert_false(hm_ca_offline(ca));
	HM_CHECK(hm_ca_offline_pass(ca, NULL, &err), &err);
	HM_CHECK(hm_ca_signer(off, NULL, PASS, &r, &err), &err);

	/* A new CA: without a passphrase, or with another one, refused. */
	params(&p, "mid", "Mid", -1);
	refused_in(off, dir, r, &p, HM_E_PASSPHRASE);
	p.pass = "another passphrase";
	refused_in(off, dir, r, &p, HM_E_PASSPHRASE);
	assert_int_equal(hm_ca_offline_pass(off, "another passphrase", &err),
	    HM_E_PASSPHRASE);
	assert_non_null(strstr(err.msg, "does not unlock the root key"));
	p.pass = PASS;
	HM_CHECK(hm_ca_new_intermediate(off, r, &p, &c, NULL, &err), &err);
	assert_int_equal(tu_verify(r, c, NULL), 0);
	hm_cert_free(c);
	assert_int_equal(all_keys_encrypted(dir), 0);

	/* A key put there in clear is not used. */
	HM_CHECK(hm_ca_file(off, "mid", "key.pem", key, sizeof(key)), &err);
	snprintf(clear, sizeof(clear), "%s.clear", key);
	HM_CHECK(hm_key_load(key, PASS, &k, &err), &err);
	HM_CHECK(hm_key_save(k, clear, NULL, 0, &err), &err);
	hm_key_free(k);
	assert_int_equal(rename(clear, key), 0);
	assert_int_not_equal(all_keys_encrypted(dir), 0);
	assert_int_equal(hm_ca_signer(off, "mid", PASS, &m, &err),
	    HM_E_POLICY);
	assert_ptr_equal(m, (hm_signer *)&m);
	/* ... while in a directory that is not offline it would be. */
	HM_CHECK(hm_ca_open(cadir, &plain, &err), &err);
	assert_false(hm_ca_offline(plain));
	hm_ca_close(plain);
	hm_signer_free(r);
	hm_ca_close(off);
}

static void
test_pathlen(void **state)
{
	hm_ca_params	 p;
	hm_ca		*c;
	hm_signer	*r0, *m2, *m1, *m0;
	hm_ca_info	 ci;
	hm_err		 err;
	char		 dir[512];

	(void)state;
	/* Under a CA of path length 0: no intermediates at all. */
	m0 = inter(root, "pl0", 0, NULL);
	params(&p, "under-pl0", "Under PL0", -1);
	expect_inter_refused(m0, &p, HM_E_POLICY);
	p.pathlen = 0;
	expect_inter_refused(m0, &p, HM_E_POLICY);
	issue_ok(m0);		/* it still issues leaves */

	/* Each path length strictly below the parent's. */
	m2 = inter(root, "pl2", 2, NULL);
	HM_CHECK(hm_ca_get_info(ca, "pl2", &ci, &err), &err);
	assert_int_equal(ci.pathlen, 2);
	assert_int_equal(ci.depth, 1);
	params(&p, "pl2-2", "PL2 2", 2);
	expect_inter_refused(m2, &p, HM_E_POLICY);
	p.pathlen = 3;
	expect_inter_refused(m2, &p, HM_E_POLICY);
	p.pathlen = 1000;
	expect_inter_refused(m2, &p, HM_E_POLICY);
	m1 = inter(m2, "pl2-1", 1, NULL);
	HM_CHECK(hm_ca_get_info(ca, "pl2-1", &ci, &err), &err);
	assert_int_equal(ci.pathlen, 1);
	assert_int_equal(ci.depth, 2);
	assert_string_equal(ci.parent, "pl2");
	params(&p, "pl2-1-1", "PL2 1 1", 1);
	expect_inter_refused(m1, &p, HM_E_POLICY);
	hm_signer_free(m0);
	m0 = inter(m1, "pl2-1-0", -1, NULL);	/* default: 0 */
	HM_CHECK(hm_ca_get_info(ca, "pl2-1-0", &ci, &err), &err);
	assert_int_equal(ci.pathlen, 0);
	assert_int_equal(ci.depth, 3);
	issue_ok(m0);
	hm_signer_free(m0);
	hm_signer_free(m1);
	hm_signer_free(m2);

	/* A root made with path length 0 signs no intermediate. */
	snprintf(dir, sizeof(dir), "%s", tu_path("pl0root"));
	params(&p, NULL, "PL0 Root", 0);
	HM_CHECK(hm_ca_init(dir, &p, &c, &err), &err);
	HM_CHECK(hm_ca_signer(c, NULL, NULL, &r0, &err), &err);
	assert_int_equal(r0->info.pathlen, 0);
	params(&p, "mid", "Mid", -1);
	refused_in(c, dir, r0, &p, HM_E_POLICY);
	p.pathlen = 0;
	refused_in(c, dir, r0, &p, HM_E_POLICY);
	hm_signer_free(r0);
	hm_ca_close(c);
}

static void
test_names(void **state)
{
	static const char *const bad[] = { "Root", "ROOT", "Mid", "a/b", "",
	    "../x", "..", ".hidden", "-dash", "_under", "a b", "a\tb",
	    "caf\xc3\xa9", "x\n", "a:b" };
	hm_ca_params	 p;
	hm_signer	*s, *s2 = (hm_signer *)&s2;
	hm_err		 err = { 0, "" };
	char		 name[80];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		params(&p, bad[i], "Bad Name", -1);
		expect_inter_refused(root, &p, HM_E_INVALID);
	}
	params(&p, NULL, "No Name", -1);
	expect_inter_refused(root, &p, HM_E_INVALID);
	/* The root's own name is taken. */
	params(&p, "root", "Another Root", -1);
	expect_inter_refused(root, &p, HM_E_INVALID);
	/* 65 characters: too long; 64: the most. */
	memset(name, 'a', 65);
	name[65] = '\0';
	params(&p, name, "Long Name", -1);
	expect_inter_refused(root, &p, HM_E_INVALID);
	name[64] = '\0';
	s = inter(root, name, -1, NULL);
	hm_signer_free(s);
	s = inter(root, "9-ok_name.v2", -1, NULL);
	hm_signer_free(s);
	/* A bad CN is refused as well. */
	params(&p, "badcn", "", -1);
	expect_inter_refused(root, &p, HM_E_INVALID);

	/* Names are checked when loading a signer too. */
	assert_int_equal(hm_ca_signer(ca, "../root", NULL, &s2, &err),
	    HM_E_INVALID);
	assert_int_equal(hm_ca_signer(ca, "Root", NULL, &s2, &err),
	    HM_E_INVALID);
	assert_int_equal(hm_ca_signer(ca, "nosuch", NULL, &s2, &err),
	    HM_E_NOTFOUND);
	assert_ptr_equal(s2, (hm_signer *)&s2);
}

static void
test_duplicate_name(void **state)
{
	hm_ca_params	 p;
	hm_signer	*s, *m;
	X509		*before, *after;

	(void)state;
	s = inter(root, "dup", -1, NULL);
	before = ca_x509(ca, "dup");
	params(&p, "dup", "Dup Again", -1);
	expect_inter_refused(root, &p, HM_E_EXISTS);
	/* Under another parent, with another key type: still taken. */
	m = inter(root, "dup-parent", 1, NULL);
	p.key_type = HM_KEY_ED25519;
	expect_inter_refused(m, &p, HM_E_EXISTS);
	/* The first one is untouched. */
	after = ca_x509(ca, "dup");
	assert_int_equal(X509_cmp(before, after), 0);
	issue_ok(s);
	X509_free(before);
	X509_free(after);
	hm_signer_free(m);
	hm_signer_free(s);
}

/*
 * What a crash between writing a CA's key and committing it leaves: a
 * directory with a key the store does not know.  Refused, and the key,
 * possibly the only copy, is kept.
 */
static void
test_directory_in_the_way(void **state)
{
	hm_ca_params	 p;
	hm_key		*k;
	hm_err		 err;
	char		 path[600];

	(void)state;
	snprintf(path, sizeof(path), "%s/ca/ghost", cadir);
	assert_int_equal(mkdir(path, 0700), 0);
	HM_CHECK(hm_key_generate(HM_KEY_P256, &k, &err), &err);
	snprintf(path, sizeof(path), "%s/ca/ghost/key.pem", cadir);
	HM_CHECK(hm_key_save(k, path, NULL, 0, &err), &err);
	hm_key_free(k);
	assert_int_equal(tu_sh("sha256sum '%s' > '%s'", path,
	    tu_path("ghost.sum")), 0);
	params(&p, "ghost", "Ghost", -1);
	expect_inter_refused(root, &p, HM_E_EXISTS);
	assert_int_equal(tu_sh("sha256sum -c --quiet '%s'",
	    tu_path("ghost.sum")), 0);
	snprintf(path, sizeof(path), "%s/ca/ghost/cert.pem", cadir);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(hm_ca_get_info(ca, "ghost", &(hm_ca_info){ 0 },
	    NULL), HM_E_NOTFOUND);
}

static void
test_key_mismatch(void **state)
{
	hm_signer	*s = inter(root, "swapped", -1, NULL);
	hm_signer	*s2 = (hm_signer *)&s2;
	hm_key		*k;
	hm_err		 err = { 0, "" };
	char		 path[600];

	(void)state;
	hm_signer_free(s);
	HM_CHECK(hm_key_generate(HM_KEY_P256, &k, &err), &err);
	snprintf(path, sizeof(path), "%s/ca/swapped/key.pem", cadir);
	HM_CHECK(hm_key_save(k, path, NULL, HM_F_FORCE, &err), &err);
	hm_key_free(k);
	assert_int_equal(hm_ca_signer(ca, "swapped", NULL, &s2, &err),
	    HM_E_POLICY);
	assert_ptr_equal(s2, (hm_signer *)&s2);
}

static void
test_intermediate_validity(void **state)
{
	hm_ca_params	 p;
	hm_ca		*c;
	hm_signer	*r, *s;
	hm_cert		*cert;
	hm_err		 err;
	X509		*rx;
	time_t		 t0, t1, na;
	int		 fl;

	(void)state;
	params(&p, NULL, "Short Root", -1);
	p.validity = 2 * 86400;
	HM_CHECK(hm_ca_init(tu_path("shortroot"), &p, &c, &err), &err);
	HM_CHECK(hm_ca_signer(c, NULL, NULL, &r, &err), &err);
	rx = r->cert;

	/* Default 5 years under a 2-day root: cut to the root's end. */
	params(&p, "long", "Long Mid", -1);
	fl = 0x55;
	HM_CHECK(hm_ca_new_intermediate(c, r, &p, &cert, &fl, &err), &err);
	assert_int_equal(fl, HM_ISSUED_CLAMPED);
	assert_int_equal(hm_cert_not_after(cert), r->info.not_after);
	assert_int_equal(ASN1_TIME_compare(X509_get0_notAfter(cert->x509),
	    X509_get0_notAfter(rx)), 0);
	assert_true(ASN1_TIME_compare(X509_get0_notBefore(cert->x509),
	    X509_get0_notBefore(rx)) >= 0);
	assert_int_equal(tu_verify(r, cert, NULL), 0);
	hm_cert_free(cert);
	HM_CHECK(hm_ca_signer(c, "long", NULL, &s, &err), &err);
	assert_int_equal(s->info.not_after, r->info.not_after);
	issue_ok(s);
	hm_signer_free(s);

	/* Explicitly longer: cut as well. */
	params(&p, "longer", "Longer Mid", -1);
	p.validity = 3 * 86400;
	HM_CHECK(hm_ca_new_intermediate(c, r, &p, &cert, &fl, &err), &err);
	assert_int_equal(fl, HM_ISSUED_CLAMPED);
	assert_int_equal(hm_cert_not_after(cert), r->info.not_after);
	hm_cert_free(cert);

	/* Within the root's: as asked, not flagged. */
	params(&p, "day", "Day Mid", -1);
	p.validity = 86400;
	t0 = time(NULL);
	HM_CHECK(hm_ca_new_intermediate(c, r, &p, &cert, &fl, &err), &err);
	t1 = time(NULL);
	assert_int_equal(fl, 0);
	na = hm_cert_not_after(cert);
	assert_true(na >= t0 + 86400 && na <= t1 + 86400);
	assert_int_equal(tu_verify(r, cert, NULL), 0);
	hm_cert_free(cert);
	hm_signer_free(r);
	hm_ca_close(c);

	/* Under the 10-year root, the default 5 years fit. */
	params(&p, "five", "Five Mid", -1);
	t0 = time(NULL);
	HM_CHECK(hm_ca_new_intermediate(ca, root, &p, &cert, &fl, &err),
	    &err);
	assert_int_equal(fl, 0);
	na = hm_cert_not_after(cert);
	assert_true(na >= t0 + 5 * HM_YEAR && na <= time(NULL) + 5 * HM_YEAR);
	hm_cert_free(cert);
}

struct calist {
	char	names[32][HM_CA_NAME_MAX + 1];
	int	depth[32];
	int	n;
};

static int
calist_cb(const hm_ca_info *ci, void *arg)
{
	struct calist	*l = arg;

	assert_true(l->n < 32);
	snprintf(l->names[l->n], sizeof(l->names[0]), "%s", ci->name);
	l->depth[l->n++] = ci->depth;
	return 0;
}

static int
calist_find(const struct calist *l, const char *name)
{
	int	i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return i;
	return -1;
}

static void
test_list_root_first(void **state)
{
	struct calist	 l;
	hm_ca_info	 ci;
	hm_signer	*a, *b;
	hm_err		 err;
	int		 i;

	(void)state;
	/* Names that sort before "root". */
	a = inter(root, "0-first", 1, NULL);
	b = inter(a, "aaa", -1, NULL);
	memset(&l, 0, sizeof(l));
	HM_CHECK(hm_ca_list(ca, calist_cb, &l, &err), &err);
	assert_true(l.n >= 3);
	assert_string_equal(l.names[0], "root");
	assert_int_equal(l.depth[0], 0);
	for (i = 1; i < l.n; i++) {
		assert_true(l.depth[i] >= l.depth[i - 1]);
		/* Every parent before its children. */
		HM_CHECK(hm_ca_get_info(ca, l.names[i], &ci, &err), &err);
		assert_true(calist_find(&l, ci.parent) >= 0);
		assert_true(calist_find(&l, ci.parent) < i);
	}
	assert_true(calist_find(&l, "0-first") < calist_find(&l, "aaa"));
	assert_int_equal(ca_count(ca), l.n);
	hm_signer_free(b);
	hm_signer_free(a);
}

/* The certificates of a PEM string, in order. */
static STACK_OF(X509) *
pem_certs(const char *pem, size_t len)
{
	STACK_OF(X509)	*sk = sk_X509_new_null();
	BIO		*b;
	X509		*x;

	assert_non_null(sk);
	assert_non_null(b = BIO_new_mem_buf(pem, (int)len));
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		assert_true(sk_X509_push(sk, x) > 0);
	BIO_free(b);
	return sk;
}

static void
test_chain_pem(void **state)
{
	hm_signer	*m1, *m2;
	STACK_OF(X509)	*sk;
	X509		*rx, *x1, *x2;
	hm_err		 err;
	char		*pem;
	size_t		 len;

	(void)state;
	rx = ca_x509(ca, NULL);

	/* The root's chain is empty: nothing between it and itself. */
	HM_CHECK(hm_signer_chain_pem(root, &pem, &len, &err), &err);
	assert_int_equal(len, 0);
	assert_string_equal(pem, "");
	free(pem);
	HM_CHECK(hm_signer_root_pem(root, &pem, &len, &err), &err);
	sk = pem_certs(pem, len);
	assert_int_equal(sk_X509_num(sk), 1);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), rx), 0);
	sk_X509_pop_free(sk, X509_free);
	free(pem);

	m1 = inter(root, "chain1", 1, NULL);
	m2 = inter(m1, "chain2", -1, NULL);
	x1 = ca_x509(ca, "chain1");
	x2 = ca_x509(ca, "chain2");

	HM_CHECK(hm_signer_chain_pem(m1, &pem, &len, &err), &err);
	assert_int_equal(strlen(pem), len);
	sk = pem_certs(pem, len);
	assert_int_equal(sk_X509_num(sk), 1);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), x1), 0);
	sk_X509_pop_free(sk, X509_free);
	free(pem);

	/* Signer first, then up, the root excluded. */
	HM_CHECK(hm_signer_chain_pem(m2, &pem, &len, &err), &err);
	sk = pem_certs(pem, len);
	assert_int_equal(sk_X509_num(sk), 2);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), x2), 0);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 1), x1), 0);
	sk_X509_pop_free(sk, X509_free);
	free(pem);
	HM_CHECK(hm_signer_root_pem(m2, &pem, &len, &err), &err);
	sk = pem_certs(pem, len);
	assert_int_equal(sk_X509_num(sk), 1);
	assert_int_equal(X509_cmp(sk_X509_value(sk, 0), rx), 0);
	sk_X509_pop_free(sk, X509_free);
	free(pem);
	issue_ok(m2);

	X509_free(x2);
	X509_free(x1);
	X509_free(rx);
	hm_signer_free(m2);
	hm_signer_free(m1);
}

static void
test_lookup(void **state)
{
	hm_cert_info	 ci;
	hm_cert		*c;
	hm_err		 err = { 0, "" };
	char		 up[64], colons[128];
	size_t		 i, o = 0;
	const char	*sn = root->info.serial;

	(void)state;
	for (i = 0; sn[i] != '\0'; i++)
		up[i] = (char)(sn[i] >= 'a' && sn[i] <= 'f' ? sn[i] - 32 :
		    sn[i]);
	up[i] = '\0';
	HM_CHECK(hm_cert_lookup(ca, up, &ci, &c, &err), &err);
	assert_string_equal(ci.serial, sn);
	assert_string_equal(hm_cert_serial(c), sn);
	hm_cert_free(c);
	o = (size_t)snprintf(colons, sizeof(colons), "00:");
	for (i = 0; sn[i] != '\0'; i++)
		colons[o++] = sn[i];
	colons[o] = '\0';
	HM_CHECK(hm_cert_lookup(ca, colons, &ci, NULL, &err), &err);
	assert_string_equal(ci.serial, sn);
	assert_int_equal(hm_cert_lookup(ca, "xyz", &ci, NULL, &err),
	    HM_E_INVALID);
	assert_int_equal(hm_cert_lookup(ca, "4242", &ci, NULL, &err),
	    HM_E_NOTFOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_layout),
		cmocka_unit_test(test_init_refuses_existing),
		cmocka_unit_test(test_init_failure_leaves_nothing),
		cmocka_unit_test(test_encrypted_root),
		cmocka_unit_test(test_encrypted_intermediate),
		cmocka_unit_test(test_offline),
		cmocka_unit_test(test_pathlen),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_duplicate_name),
		cmocka_unit_test(test_directory_in_the_way),
		cmocka_unit_test(test_key_mismatch),
		cmocka_unit_test(test_intermediate_validity),
		cmocka_unit_test(test_list_root_first),
		cmocka_unit_test(test_chain_pem),
		cmocka_unit_test(test_lookup),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
