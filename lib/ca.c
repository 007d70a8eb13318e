/*
 * A CA directory: DIR/hallmark.db (the inventory) and, for each CA,
 * DIR/ca/NAME/{cert.pem,key.pem}.  The store is authoritative for
 * certificates; the key file is the only copy of each key.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "internal.h"

#define STORE_FILE	"hallmark.db"

int
hm_ca_file(const hm_ca *ca, const char *name, const char *file, char *buf,
    size_t len)
{
	int	r;

	if (file == NULL)
		r = snprintf(buf, len, "%s/ca/%s", ca->dir, name);
	else
		r = snprintf(buf, len, "%s/ca/%s/%s", ca->dir, name, file);
	return r < 0 || (size_t)r >= len ? -1 : 0;
}

int
hm_ca_cert_path(hm_ca *ca, const char *name, char *buf, size_t len)
{
	return hm_ca_file(ca, name == NULL ? HM_ROOT_NAME : name, "cert.pem",
	    buf, len);
}

static int
ca_name_check(const char *name, hm_err *err)
{
	size_t	i, n = name == NULL ? 0 : strlen(name);

	if (n == 0 || n > HM_CA_NAME_MAX || !isalnum((unsigned char)name[0]))
		goto bad;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)name[i]) &&
		    !isdigit((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_' && name[i] != '.')
			goto bad;
	return HM_OK;
 bad:
	return hm_seterr(err, HM_E_INVALID, "bad CA name '%.64s' (want 1 to "
	    "%d of a-z 0-9 . _ -, starting with a letter or digit)",
	    name == NULL ? "" : name, HM_CA_NAME_MAX);
}

static hm_ca *
ca_alloc(const char *dir, hm_err *err)
{
	hm_ca	*ca;

	if (strlen(dir) + 64 + HM_CA_NAME_MAX >= HM_PATH_MAX) {
		hm_seterr(err, HM_E_INVALID, "directory path too long");
		return NULL;
	}
	if ((ca = calloc(1, sizeof(*ca))) == NULL) {
		hm_seterr(err, HM_E_NOMEM, "out of memory");
		return NULL;
	}
	snprintf(ca->dir, sizeof(ca->dir), "%s", dir);
	return ca;
}

/* What the store says of the whole directory. */
static int
ca_read_settings(hm_ca *ca, hm_err *err)
{
	char	v[16];
	int	rc;

	rc = ca->store->ops->setting_get(ca->store, HM_SETTING_OFFLINE, v,
	    sizeof(v), err);
	if (rc == HM_E_NOTFOUND)
		return HM_OK;
	if (rc != HM_OK)
		return rc;
	ca->offline = strcmp(v, "1") == 0;
	return HM_OK;
}

void
hm_ca_close(hm_ca *ca)
{
	if (ca == NULL)
		return;
	hm_store_close(ca->store);
	free(ca);
}

int
hm_ca_open(const char *dir, hm_ca **out, hm_err *err)
{
	char	 path[HM_PATH_MAX];
	hm_ca	*ca;
	int	 rc;

	if ((ca = ca_alloc(dir, err)) == NULL)
		return err != NULL ? err->code : HM_E_NOMEM;
	snprintf(path, sizeof(path), "%s/%s", dir, STORE_FILE);
	if (access(path, F_OK) == -1) {
		hm_ca_close(ca);
		return hm_seterr(err, HM_E_NOTFOUND, "no CA in %s (create one "
		    "with hallmark init)", dir);
	}
	if ((rc = hm_store_open(path, 0, &ca->store, err)) != HM_OK ||
	    (rc = ca_read_settings(ca, err)) != HM_OK) {
		hm_ca_close(ca);
		return rc;
	}
	*out = ca;
	return HM_OK;
}

int
hm_ca_offline(const hm_ca *ca)
{
	return ca->offline;
}

int
hm_ca_offline_pass(hm_ca *ca, const char *pass, hm_err *err)
{
	char	 path[HM_PATH_MAX];
	hm_key	*key = NULL;
	int	 rc;

	if (!ca->offline)
		return HM_OK;
	if (pass == NULL)
		return hm_seterr(err, HM_E_PASSPHRASE, "%s is an offline CA "
		    "directory: a new key must be encrypted under the root's "
		    "passphrase", ca->dir);
	if (hm_ca_file(ca, HM_ROOT_NAME, "key.pem", path, sizeof(path)) == -1)
		return hm_seterr(err, HM_E_INVALID, "path too long");
	if ((rc = hm_key_load(path, pass, &key, err)) != HM_OK) {
		if (rc == HM_E_PASSPHRASE)
			hm_seterr(err, rc, "that passphrase does not unlock "
			    "the root key: an offline directory keeps every "
			    "key under the root's one passphrase");
		return rc;
	}
	hm_key_free(key);
	return HM_OK;
}

/* Fill the fields of ci that come from the certificate itself. */
static void
ca_info_from_cert(hm_ca_info *ci, X509 *x, hm_keytype kt)
{
	hm_x509_serial_hex(x, ci->serial);
	hm_name_oneline(X509_get_subject_name(x), ci->subject,
	    sizeof(ci->subject));
	ci->not_before = hm_asn1_time_to_time(X509_get0_notBefore(x));
	ci->not_after = hm_asn1_time_to_time(X509_get0_notAfter(x));
	ci->key_type = kt;
}

/*
 * Write the CA's key (unless key is NULL) and certificate and record both
 * in the store, in one transaction; on failure nothing of it is left
 * behind.
 */
static int
ca_commit(hm_ca *ca, const hm_ca_info *ci, hm_key *key, const char *pass,
    hm_cert *c, hm_err *err)
{
	char		 dir[HM_PATH_MAX], kpath[HM_PATH_MAX];
	char		 cpath[HM_PATH_MAX], *pem = NULL;
	size_t		 pemlen;
	hm_cert_rec	 rec;
	hm_store	*st = ca->store;
	int		 rc, wrote_key = 0, wrote_cert = 0;

	if (hm_ca_file(ca, ci->name, NULL, dir, sizeof(dir)) == -1 ||
	    hm_ca_file(ca, ci->name, "key.pem", kpath, sizeof(kpath)) == -1 ||
	    hm_ca_file(ca, ci->name, "cert.pem", cpath, sizeof(cpath)) == -1)
		return hm_seterr(err, HM_E_INVALID, "path too long");
	if ((rc = hm_cert_rec_fill(&rec, c, ci->parent[0] ? ci->parent :
	    ci->name, hm_profile_name(ci->depth == 0 ? HM_PROFILE_ROOT :
	    HM_PROFILE_INTERMEDIATE), NULL, err)) != HM_OK)
		return rc;
	if ((rc = st->ops->begin(st, err)) != HM_OK)
		return rc;
	if ((rc = st->ops->ca_insert(st, ci, err)) != HM_OK ||
	    (rc = st->ops->cert_insert(st, &rec, err)) != HM_OK)
		goto out;
	/* The mark comes with the root, in its transaction. */
	if (ci->depth == 0 && ca->offline && (rc = st->ops->setting_set(st,
	    HM_SETTING_OFFLINE, "1", err)) != HM_OK)
		goto out;
	/* Never a key in clear in an offline directory, whoever asks. */
	if (ca->offline && pass == NULL) {
		rc = hm_seterr(err, HM_E_PASSPHRASE, "%s is an offline CA "
		    "directory: refusing to write a key in clear", ca->dir);
		goto out;
	}
	if (mkdir(dir, 0700) == -1) {
		rc = hm_seterr(err, HM_E_EXISTS, "%s: %s", dir,
		    strerror(errno));
		goto out;
	}
	/* No key: a CA whose key is kept elsewhere (an offline root). */
	if (key != NULL) {
		if ((rc = hm_key_save(key, kpath, pass, 0, err)) != HM_OK)
			goto out;
		wrote_key = 1;
	}
	if ((rc = hm_cert_pem(c, &pem, &pemlen, err)) != HM_OK ||
	    (rc = hm_file_write(cpath, pem, pemlen, 0644, 0, err)) != HM_OK)
		goto out;
	wrote_cert = 1;
	rc = st->ops->commit(st, err);
 out:
	if (rc != HM_OK) {
		st->ops->rollback(st);
		if (wrote_cert)
			unlink(cpath);
		if (wrote_key)
			unlink(kpath);
		rmdir(dir);
	}
	free(pem);
	return rc;
}

/*
 * Sign a CA's certificate for [nb, na]: by parent, or self-signed when
 * parent is NULL; with the key in *keyp (taken), or a new one.
 */
/* The subject p asks for: p->subject, or CN=p->cn. */
static const hm_subject *
ca_subject(const hm_ca_params *p, hm_subject *buf)
{
	if (p->subject != NULL)
		return p->subject;
	memset(buf, 0, sizeof(*buf));
	buf->cn = p->cn;
	return buf;
}

static int
ca_params_check(const hm_ca_params *p, hm_err *err)
{
	hm_subject	buf;
	int		rc;

	if ((rc = hm_subject_check(ca_subject(p, &buf), err)) != HM_OK)
		return rc;
	if (p->pass != NULL && (rc = hm_passphrase_check(p->pass, err)) !=
	    HM_OK)
		return rc;
	return HM_OK;
}

static int
ca_build(const hm_ca_params *p, hm_signer *parent, int pathlen, time_t nb,
    time_t na, hm_key **keyp, hm_cert **certp, hm_err *err)
{
	struct hm_tbs	 t;
	hm_subject	 subj;
	hm_key		*key = NULL;
	hm_cert		*c;
	X509		*x = NULL;
	X509_PUBKEY	*xpk = NULL;
	NAME_CONSTRAINTS *nc = NULL;
	int		 rc;

	if (p->npermitted + p->nexcluded > 0) {
		if (parent == NULL)
			return hm_seterr(err, HM_E_INVALID, "name constraints "
			    "belong on intermediates, not on the root");
		if ((rc = hm_nc_new((char *const *)p->permitted, p->npermitted,
		    (char *const *)p->excluded, p->nexcluded, &nc, err)) !=
		    HM_OK)
			return rc;
	}
	if (*keyp != NULL) {
		key = *keyp;	/* re-issue: the CA keeps its key */
		*keyp = NULL;
	} else if ((rc = hm_key_generate(p->key_type == HM_KEY_NONE ?
	    HM_KEY_DEFAULT : p->key_type, &key, err)) != HM_OK)
		goto out;
	memset(&t, 0, sizeof(t));
	t.profile = hm_profile_get(parent == NULL ? HM_PROFILE_ROOT :
	    HM_PROFILE_INTERMEDIATE);
	if (!X509_PUBKEY_set(&xpk, key->pkey)) {
		rc = hm_seterr_ssl(err, HM_E_INTERNAL, "encoding the key");
		goto out;
	}
	if ((rc = hm_tbs_spki(&t, xpk, err)) != HM_OK)
		goto out;
	t.key_type = key->type;
	t.subject = ca_subject(p, &subj);
	t.pathlen = pathlen;
	t.nc = nc;
	if (parent != NULL)
		t.issuer_info = &parent->info;
	t.not_before = nb;
	t.not_after = na;
	if ((rc = hm_sign_cert(&t, parent != NULL ? parent->cert : NULL,
	    parent != NULL ? parent->pkey : key->pkey,
	    parent != NULL ? parent->sign_tmpl : NULL, &x, err)) != HM_OK)
		goto out;
	if ((c = hm_cert_from_x509(x, err)) == NULL) {
		rc = err != NULL ? err->code : HM_E_NOMEM;
		goto out;
	}
	*keyp = key;
	*certp = c;
	key = NULL;
 out:
	NAME_CONSTRAINTS_free(nc);
	X509_PUBKEY_free(xpk);
	hm_key_free(key);
	return rc;
}

/* Nothing half-made: drop the store (and ca/) that init created. */
static void
ca_drop(hm_ca *ca)
{
	char	path[HM_PATH_MAX + 32];

	hm_store_close(ca->store);
	ca->store = NULL;
	snprintf(path, sizeof(path), "%s/ca", ca->dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/%s", ca->dir, STORE_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s-wal", ca->dir, STORE_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s-shm", ca->dir, STORE_FILE);
	unlink(path);
}

/* Create DIR's store and DIR/ca, refusing a directory that holds a CA. */
static int
ca_create(hm_ca *ca, int *created, hm_err *err)
{
	char	path[HM_PATH_MAX + 32];
	int	rc;

	if ((rc = hm_mkdir_p(ca->dir, 0700, err)) != HM_OK)
		return rc;
	snprintf(path, sizeof(path), "%s/ca", ca->dir);
	if (access(path, F_OK) == 0)
		return hm_seterr(err, HM_E_EXISTS, "%s already holds a CA; "
		    "refusing to overwrite it", ca->dir);
	snprintf(path, sizeof(path), "%s/%s", ca->dir, STORE_FILE);
	if ((rc = hm_store_open(path, 1, &ca->store, err)) != HM_OK) {
		if (rc == HM_E_EXISTS)
			hm_seterr(err, rc, "%s already holds a CA; refusing "
			    "to overwrite it", ca->dir);
		return rc;
	}
	*created = 1;
	snprintf(path, sizeof(path), "%s/ca", ca->dir);
	if (mkdir(path, 0700) == -1)
		return hm_seterr(err, HM_E_IO, "mkdir %s: %s", path,
		    strerror(errno));
	return HM_OK;
}

int
hm_ca_init(const char *dir, const hm_ca_params *p, hm_ca **out, hm_err *err)
{
	hm_ca_info	 ci;
	hm_ca		*ca = NULL;
	hm_key		*key = NULL;
	hm_cert		*c = NULL;
	time_t		 now = time(NULL);
	int		 rc, created = 0;

	if ((rc = ca_params_check(p, err)) != HM_OK)
		return rc;
	if (p->offline && p->pass == NULL)
		return hm_seterr(err, HM_E_PASSPHRASE, "an offline root needs "
		    "a passphrase: every key of its directory is encrypted "
		    "under it");
	if ((ca = ca_alloc(dir, err)) == NULL)
		return err != NULL ? err->code : HM_E_NOMEM;
	ca->offline = p->offline != 0;
	if ((rc = ca_create(ca, &created, err)) != HM_OK)
		goto out;
	if ((rc = ca_build(p, NULL, p->pathlen, now - HM_BACKDATE, now +
	    (p->validity > 0 ? p->validity : 10 * HM_YEAR), &key, &c,
	    err)) != HM_OK)
		goto out;
	memset(&ci, 0, sizeof(ci));
	snprintf(ci.name, sizeof(ci.name), "%s", HM_ROOT_NAME);
	ci.pathlen = p->pathlen < 0 ? -1 : p->pathlen;
	ci.depth = 0;
	ca_info_from_cert(&ci, c->x509, key->type);
	if ((rc = ca_commit(ca, &ci, key, p->pass, c, err)) != HM_OK)
		goto out;
	*out = ca;
	ca = NULL;
 out:
	if (ca != NULL && created)
		ca_drop(ca);
	hm_ca_close(ca);
	hm_cert_free(c);
	hm_key_free(key);
	return rc;
}

/* The policy type of x's key (HM_KEY_NONE and err set if refused). */
static hm_keytype
cert_keytype(X509 *x, hm_err *err)
{
	EVP_PKEY	*pk;

	if ((pk = X509_get0_pubkey(x)) == NULL) {
		hm_seterr_ssl(err, HM_E_INVALID, "certificate key does not "
		    "decode");
		return HM_KEY_NONE;
	}
	return hm_pkey_type(pk, err);
}

int
hm_ca_init_from_root(const char *dir, const hm_cert *root, hm_ca **out,
    hm_err *err)
{
	hm_ca_info	 ci;
	hm_ca		*ca = NULL;
	hm_cert		*c = NULL;
	X509		*x = root->x509;
	hm_keytype	 kt;
	int		 rc, created = 0;

	if (X509_check_ca(x) < 1 || X509_check_issued(x, x) != X509_V_OK ||
	    X509_verify(x, X509_get0_pubkey(x)) != 1) {
		ERR_clear_error();
		return hm_seterr(err, HM_E_INVALID, "not a self-signed CA "
		    "certificate: give the root's certificate");
	}
	if ((kt = cert_keytype(x, err)) == HM_KEY_NONE)
		return err != NULL ? err->code : HM_E_POLICY;
	if (!X509_up_ref(x))
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if ((c = hm_cert_from_x509(x, err)) == NULL)
		return err != NULL ? err->code : HM_E_NOMEM;
	if ((ca = ca_alloc(dir, err)) == NULL) {
		rc = err != NULL ? err->code : HM_E_NOMEM;
		goto out;
	}
	if ((rc = ca_create(ca, &created, err)) != HM_OK)
		goto out;
	memset(&ci, 0, sizeof(ci));
	snprintf(ci.name, sizeof(ci.name), "%s", HM_ROOT_NAME);
	ci.pathlen = (int)X509_get_pathlen(x);
	ci.depth = 0;
	ca_info_from_cert(&ci, x, kt);
	if ((rc = ca_commit(ca, &ci, NULL, NULL, c, err)) != HM_OK)
		goto out;
	*out = ca;
	ca = NULL;
 out:
	if (ca != NULL && created)
		ca_drop(ca);
	hm_ca_close(ca);
	hm_cert_free(c);
	return rc;
}

int
hm_ca_adopt(hm_ca *ca, const char *name, const char *parent, X509 *x,
    hm_key *key, const char *pass, hm_err *err)
{
	hm_ca_info	 ci, pi;
	hm_cert		*c;
	int		 rc;

	if ((rc = ca_name_check(name, err)) != HM_OK)
		return rc;
	if (strcmp(name, HM_ROOT_NAME) == 0)
		return hm_seterr(err, HM_E_INVALID, "'%s' is the root's name",
		    HM_ROOT_NAME);
	if ((pass != NULL && (rc = hm_passphrase_check(pass, err)) !=
	    HM_OK) || (rc = hm_ca_offline_pass(ca, pass, err)) != HM_OK)
		return rc;
	if ((rc = ca->store->ops->ca_get(ca->store, parent, &pi, err)) !=
	    HM_OK)
		return rc;
	memset(&ci, 0, sizeof(ci));
	snprintf(ci.name, sizeof(ci.name), "%s", name);
	snprintf(ci.parent, sizeof(ci.parent), "%s", parent);
	ci.pathlen = (int)X509_get_pathlen(x);
	ci.depth = pi.depth + 1;
	ca_info_from_cert(&ci, x, key->type);
	if (!X509_up_ref(x))
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	if ((c = hm_cert_from_x509(x, err)) == NULL)
		return err != NULL ? err->code : HM_E_NOMEM;
	rc = ca_commit(ca, &ci, key, pass, c, err);
	hm_cert_free(c);
	return rc;
}

/* Whether ci's key is in the directory, and encrypted. */
static void
ca_key_state(hm_ca *ca, hm_ca_info *ci)
{
	char	path[HM_PATH_MAX];

	ci->has_key = hm_ca_file(ca, ci->name, "key.pem", path,
	    sizeof(path)) == 0 && access(path, F_OK) == 0;
	ci->encrypted = ci->has_key && hm_key_file_is_encrypted(path);
}

int
hm_ca_key_encrypted(hm_ca *ca, const char *name)
{
	char	path[HM_PATH_MAX];

	if (hm_ca_file(ca, name == NULL ? HM_ROOT_NAME : name, "key.pem", path,
	    sizeof(path)) == -1)
		return 0;
	return hm_key_file_is_encrypted(path);
}

int
hm_ca_has_key(hm_ca *ca, const char *name)
{
	struct stat	st;
	char		path[HM_PATH_MAX];

	if (hm_ca_file(ca, name == NULL ? HM_ROOT_NAME : name, "key.pem", path,
	    sizeof(path)) == -1)
		return 1;
	return lstat(path, &st) == 0 || errno != ENOENT;
}

/* The CA's certificate, as the store holds it. */
static int
ca_cert(hm_ca *ca, const hm_ca_info *ci, X509 **out, hm_err *err)
{
	unsigned char		*der = NULL;
	const unsigned char	*p;
	size_t			 len;
	X509			*x;
	int			 rc;

	if ((rc = ca->store->ops->cert_get(ca->store, ci->serial, NULL, &der,
	    &len, err)) != HM_OK)
		return rc;
	p = der;
	x = d2i_X509(NULL, &p, (long)len);
	free(der);
	if (x == NULL)
		return hm_seterr_ssl(err, HM_E_STORE, "store: certificate of "
		    "CA '%s' does not parse", ci->name);
	*out = x;
	return HM_OK;
}

void
hm_signer_free(hm_signer *s)
{
	if (s == NULL)
		return;
	X509_free(s->cert);
	X509_free(s->root);
	EVP_PKEY_free(s->pkey);
	EVP_MD_CTX_free(s->sign_tmpl);
	sk_X509_pop_free(s->chain, X509_free);
	free(s);
}

/*
 * The named CA's certificates, from the store: the CA's own, the chain up
 * to (but excluding) the root, and the root; no key (s->pkey NULL).
 */
int
hm_ca_certs(hm_ca *ca, const char *name, hm_signer **out, hm_err *err)
{
	hm_signer	*s;
	hm_ca_info	 ci;
	X509		*x = NULL;
	int		 rc, depth;

	if (name == NULL)
		name = HM_ROOT_NAME;
	if ((rc = ca_name_check(name, err)) != HM_OK)
		return rc;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return hm_seterr(err, HM_E_NOMEM, "out of memory");
	s->ca = ca;
	if ((rc = ca->store->ops->ca_get(ca->store, name, &s->info,
	    err)) != HM_OK ||
	    (rc = ca_cert(ca, &s->info, &s->cert, err)) != HM_OK)
		goto fail;
	if ((s->chain = sk_X509_new_null()) == NULL) {
		rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
		goto fail;
	}
	/* Walk up to the root; depth bounds the walk against a bad store. */
	ci = s->info;
	for (depth = 0; ci.parent[0] != '\0'; depth++) {
		if (depth > 32) {
			rc = hm_seterr(err, HM_E_STORE, "store: CA chain of "
			    "'%s' loops", name);
			goto fail;
		}
		if (depth == 0) {
			if (!X509_up_ref(s->cert) ||
			    !sk_X509_push(s->chain, s->cert)) {
				rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
				goto fail;
			}
		}
		if ((rc = ca->store->ops->ca_get(ca->store, ci.parent, &ci,
		    err)) != HM_OK ||
		    (rc = ca_cert(ca, &ci, &x, err)) != HM_OK)
			goto fail;
		if (ci.parent[0] == '\0') {
			s->root = x;
		} else if (!sk_X509_push(s->chain, x)) {
			X509_free(x);
			rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
			goto fail;
		}
		x = NULL;
	}
	if (s->root == NULL) {
		if (!X509_up_ref(s->cert)) {
			rc = hm_seterr(err, HM_E_NOMEM, "out of memory");
			goto fail;
		}
		s->root = s->cert;
	}
	s->constrained = X509_get_ext_by_NID(s->root, NID_name_constraints,
	    -1) >= 0;
	for (depth = 0; depth < sk_X509_num(s->chain); depth++)
		if (X509_get_ext_by_NID(sk_X509_value(s->chain, depth),
		    NID_name_constraints, -1) >= 0)
			s->constrained = 1;
	*out = s;
	return HM_OK;
 fail:
	hm_signer_free(s);
	return rc;
}

struct issuer_arg {
	hm_ca		*ca;
	X509		*x;
	int		 not_self;
	hm_signer	*found;
};

/* Is this CA's certificate the one that signed a->x? */
static int
issuer_cb(const hm_ca_info *ci, void *arg)
{
	struct issuer_arg	*a = arg;
	hm_signer		*s;

	if (a->found != NULL || hm_ca_certs(a->ca, ci->name, &s, NULL) !=
	    HM_OK)
		return 0;
	if ((!a->not_self || X509_cmp(s->cert, a->x) != 0) &&
	    X509_check_issued(s->cert, a->x) == X509_V_OK &&
	    X509_verify(a->x, X509_get0_pubkey(s->cert)) == 1)
		a->found = s;
	else
		hm_signer_free(s);
	ERR_clear_error();
	return 0;
}

int
hm_ca_find_issuer(hm_ca *ca, X509 *x, int not_self, hm_signer **out,
    hm_err *err)
{
	struct issuer_arg	a = { ca, x, not_self, NULL };
	int			rc;

	if ((rc = hm_ca_list(ca, issuer_cb, &a, err)) != HM_OK)
		return rc;
	if (a.found == NULL)
		return hm_seterr(err, HM_E_NOTFOUND, "not issued (signed) by a "
		    "CA of this directory");
	*out = a.found;
	return HM_OK;
}

int
hm_ca_signer(hm_ca *ca, const char *name, const char *pass, hm_signer **out,
    hm_err *err)
{
	char		 path[HM_PATH_MAX];
	hm_signer	*s;
	hm_key		*key = NULL;
	int		 rc;

	if (name == NULL)
		name = HM_ROOT_NAME;
	if ((rc = hm_ca_certs(ca, name, &s, err)) != HM_OK)
		return rc;
	if (hm_ca_file(ca, name, "key.pem", path, sizeof(path)) == -1) {
		rc = hm_seterr(err, HM_E_INVALID, "path too long");
		goto fail;
	}
	if (ca->offline && !hm_key_file_is_encrypted(path)) {
		rc = hm_seterr(err, HM_E_POLICY, "the key of CA '%s' is in "
		    "clear in an offline directory: refusing to use it", name);
		goto fail;
	}
	if ((rc = hm_key_load(path, pass, &key, err)) != HM_OK) {
		if (rc == HM_E_PASSPHRASE)
			hm_seterr(err, rc, pass == NULL ? "the key of CA '%s' "
			    "is encrypted: a passphrase is needed" :
			    "wrong passphrase for the key of CA '%s'", name);
		else if (rc == HM_E_NOTFOUND)
			hm_seterr(err, rc, "CA '%s' has no key in %s (its "
			    "key is kept elsewhere, offline)", name, ca->dir);
		goto fail;
	}
	if (X509_check_private_key(s->cert, key->pkey) != 1) {
		rc = hm_seterr(err, HM_E_POLICY, "%s does not match the "
		    "certificate of CA '%s'", path, name);
		goto fail;
	}
	s->pkey = key->pkey;
	key->pkey = NULL;
	if ((rc = hm_sign_ctx_new(s->pkey, &s->sign_tmpl, err)) != HM_OK)
		goto fail;
	hm_key_free(key);
	*out = s;
	return HM_OK;
 fail:
	hm_key_free(key);
	hm_signer_free(s);
	return rc;
}

/*
 * What parent allows an intermediate of p: its pathlen and validity
 * window, cut to the parent's (*clamped then set).
 */
static int
inter_window(const hm_signer *parent, const hm_ca_params *p, int *pathlen,
    time_t *nb, time_t *na, int *clamped, hm_err *err)
{
	time_t	now = time(NULL);

	if (parent->info.pathlen == 0)
		return hm_seterr(err, HM_E_POLICY, "CA '%s' has path length 0: "
		    "it can not sign intermediate CAs", parent->info.name);
	*pathlen = p->pathlen < 0 ? 0 : p->pathlen;
	if (parent->info.pathlen > 0 && *pathlen >= parent->info.pathlen)
		return hm_seterr(err, HM_E_POLICY, "path length %d is not "
		    "below the %d of CA '%s'", *pathlen, parent->info.pathlen,
		    parent->info.name);
	if (parent->info.not_after <= now)
		return hm_seterr(err, HM_E_POLICY, "CA '%s' expired",
		    parent->info.name);
	*nb = now - HM_BACKDATE;
	if (*nb < parent->info.not_before)
		*nb = parent->info.not_before;
	*na = now + (p->validity > 0 ? p->validity : 5 * HM_YEAR);
	*clamped = 0;
	if (*na > parent->info.not_after) {
		*na = parent->info.not_after;
		*clamped = 1;
	}
	return HM_OK;
}

/* The checks every new intermediate passes, before any work. */
static int
new_check(hm_ca *ca, const hm_ca_params *p, hm_err *err)
{
	hm_ca_info	tmp;
	int		rc;

	if ((rc = ca_name_check(p->name, err)) != HM_OK ||
	    (rc = ca_params_check(p, err)) != HM_OK)
		return rc;
	if (strcmp(p->name, HM_ROOT_NAME) == 0)
		return hm_seterr(err, HM_E_INVALID, "'%s' is the root's name",
		    HM_ROOT_NAME);
	if (ca->store->ops->ca_get(ca->store, p->name, &tmp, NULL) == HM_OK)
		return hm_seterr(err, HM_E_EXISTS, "a CA named '%s' exists",
		    p->name);
	return hm_ca_offline_pass(ca, p->pass, err);
}

static int
new_build(hm_ca *ca, hm_signer *parent, const hm_ca_params *p, int pathlen,
    time_t nb, time_t na, hm_cert **out, hm_err *err)
{
	hm_ca_info	 ci;
	hm_key		*key = NULL;
	hm_cert		*c = NULL;
	int		 rc;

	if ((rc = ca_build(p, parent, pathlen, nb, na, &key, &c, err)) !=
	    HM_OK)
		return rc;
	memset(&ci, 0, sizeof(ci));
	snprintf(ci.name, sizeof(ci.name), "%s", p->name);
	snprintf(ci.parent, sizeof(ci.parent), "%s", parent->info.name);
	ci.pathlen = pathlen;
	ci.depth = parent->info.depth + 1;
	ca_info_from_cert(&ci, c->x509, key->type);
	if ((rc = ca_commit(ca, &ci, key, p->pass, c, err)) != HM_OK)
		goto out;
	*out = c;
	c = NULL;
 out:
	hm_cert_free(c);
	hm_key_free(key);
	return rc;
}

int
hm_ca_new_intermediate(hm_ca *ca, hm_signer *parent, const hm_ca_params *p,
    hm_cert **out, int *flags, hm_err *err)
{
	time_t	nb = 0, na = 0;
	int	rc, pathlen = 0, clamped = 0;

	if ((rc = new_check(ca, p, err)) != HM_OK)
		return rc;
	if ((rc = inter_window(parent, p, &pathlen, &nb, &na, &clamped,
	    err)) != HM_OK)
		return rc;
	if ((rc = new_build(ca, parent, p, pathlen, nb, na, out, err)) !=
	    HM_OK)
		return rc;
	if (flags != NULL)
		*flags = clamped ? HM_ISSUED_CLAMPED : 0;
	return HM_OK;
}

int
hm_ca_new_at(hm_ca *ca, hm_signer *parent, const hm_ca_params *p,
    time_t nb, time_t na, hm_cert **out, hm_err *err)
{
	int	rc, pathlen;

	if ((rc = new_check(ca, p, err)) != HM_OK)
		return rc;
	if (parent->info.pathlen == 0)
		return hm_seterr(err, HM_E_POLICY, "CA '%s' has path length 0: "
		    "it can not sign intermediate CAs", parent->info.name);
	pathlen = p->pathlen < 0 ? 0 : p->pathlen;
	if (parent->info.pathlen > 0 && pathlen >= parent->info.pathlen)
		return hm_seterr(err, HM_E_POLICY, "path length %d is not "
		    "below the %d of CA '%s'", pathlen, parent->info.pathlen,
		    parent->info.name);
	if (nb >= na || nb < parent->info.not_before ||
	    na > parent->info.not_after)
		return hm_seterr(err, HM_E_POLICY, "CA '%s' would not lie "
		    "inside the validity of CA '%s'", p->name,
		    parent->info.name);
	return new_build(ca, parent, p, pathlen, nb, na, out, err);
}

int
hm_ca_reissue(hm_ca *ca, hm_signer *parent, const hm_ca_params *p,
    hm_cert **out, int *flags, hm_err *err)
{
	char		 path[HM_PATH_MAX], *pem = NULL;
	size_t		 pemlen;
	hm_ca_info	 ci;
	hm_cert_rec	 rec;
	hm_store	*st = ca->store;
	hm_subject	 subj;
	hm_key		*key = NULL;
	hm_cert		*c = NULL;
	time_t		 nb = 0, na = 0;
	int		 rc, pathlen = 0, clamped = 0;

	if ((rc = ca_name_check(p->name, err)) != HM_OK ||
	    (rc = hm_subject_check(ca_subject(p, &subj), err)) != HM_OK)
		return rc;
	if ((rc = st->ops->ca_get(st, p->name, &ci, err)) != HM_OK)
		return rc;
	if (strcmp(ci.parent, parent->info.name) != 0)
		return hm_seterr(err, HM_E_POLICY, "CA '%s' is signed by '%s', "
		    "not '%s': re-issuing keeps the parent", p->name,
		    ci.parent[0] != '\0' ? ci.parent : "(none)",
		    parent->info.name);
	if ((rc = inter_window(parent, p, &pathlen, &nb, &na, &clamped,
	    err)) != HM_OK)
		return rc;
	if (hm_ca_file(ca, p->name, "key.pem", path, sizeof(path)) == -1)
		return hm_seterr(err, HM_E_INVALID, "path too long");
	if ((rc = hm_key_load(path, p->pass, &key, err)) != HM_OK) {
		if (rc == HM_E_PASSPHRASE)
			hm_seterr(err, rc, p->pass == NULL ? "the key of CA "
			    "'%s' is encrypted: a passphrase is needed" :
			    "wrong passphrase for the key of CA '%s'", p->name);
		return rc;
	}
	if ((rc = ca_build(p, parent, pathlen, nb, na, &key, &c, err)) !=
	    HM_OK)
		goto out;
	ci.pathlen = pathlen;
	ca_info_from_cert(&ci, c->x509, ci.key_type);
	if ((rc = hm_cert_rec_fill(&rec, c, parent->info.name,
	    hm_profile_name(HM_PROFILE_INTERMEDIATE), NULL, err)) != HM_OK ||
	    (rc = hm_cert_pem(c, &pem, &pemlen, err)) != HM_OK)
		goto out;
	if ((rc = st->ops->begin(st, err)) != HM_OK)
		goto out;
	if ((rc = st->ops->cert_insert(st, &rec, err)) != HM_OK ||
	    (rc = st->ops->ca_update(st, &ci, err)) != HM_OK ||
	    (rc = st->ops->commit(st, err)) != HM_OK) {
		st->ops->rollback(st);
		goto out;
	}
	/* The store is authoritative; cert.pem is a copy for people. */
	if (hm_ca_file(ca, p->name, "cert.pem", path, sizeof(path)) == -1 ||
	    (rc = hm_file_write(path, pem, pemlen, 0644, HM_F_FORCE, err)) !=
	    HM_OK)
		goto out;
	*out = c;
	c = NULL;
	if (flags != NULL)
		*flags = clamped ? HM_ISSUED_CLAMPED : 0;
 out:
	free(pem);
	hm_cert_free(c);
	hm_key_free(key);
	return rc;
}

int
hm_ca_set_url(hm_ca *ca, const char *name, const char *url, hm_err *err)
{
	const char	*p;
	size_t		 n = url != NULL ? strlen(url) : 0;

	if (name == NULL)
		name = HM_ROOT_NAME;
	if (n > 0) {
		if (n > HM_URL_MAX)
			return hm_seterr(err, HM_E_INVALID, "URL over %d "
			    "characters", HM_URL_MAX);
		if (strncmp(url, "http://", 7) != 0 &&
		    strncmp(url, "https://", 8) != 0)
			return hm_seterr(err, HM_E_INVALID, "URL '%.64s' is not "
			    "http:// or https://", url);
		for (p = url; *p != '\0'; p++)
			if (*p <= 0x20 || *p >= 0x7f || *p == '?' ||
			    *p == '#' || *p == '"' || *p == '\\')
				return hm_seterr(err, HM_E_INVALID, "URL "
				    "'%.64s': no spaces, queries, fragments "
				    "or non-ASCII", url);
		if (url[n - 1] == '/')
			return hm_seterr(err, HM_E_INVALID, "URL '%.64s': "
			    "leave out the trailing '/'", url);
		if (strchr(url + 8, '/') == NULL && url[strlen("http://")] ==
		    '\0')
			return hm_seterr(err, HM_E_INVALID, "URL '%.64s' has "
			    "no host", url);
	}
	return ca->store->ops->ca_set_url(ca->store, name, url, err);
}

int
hm_ca_get_info(hm_ca *ca, const char *name, hm_ca_info *out, hm_err *err)
{
	hm_ca_info	ci;
	int		rc;

	if (name == NULL)
		name = HM_ROOT_NAME;
	if ((rc = ca->store->ops->ca_get(ca->store, name, &ci, err)) != HM_OK)
		return rc;
	ca_key_state(ca, &ci);
	*out = ci;
	return HM_OK;
}

struct list_arg {
	hm_ca		*ca;
	hm_ca_cb	 cb;
	void		*arg;
};

static int
list_cb(const hm_ca_info *ci, void *arg)
{
	struct list_arg	*la = arg;
	hm_ca_info	 c = *ci;

	ca_key_state(la->ca, &c);
	return la->cb(&c, la->arg);
}

int
hm_ca_list(hm_ca *ca, hm_ca_cb cb, void *arg, hm_err *err)
{
	struct list_arg	la = { ca, cb, arg };

	return ca->store->ops->ca_list(ca->store, list_cb, &la, err);
}

int
hm_signer_chain_pem(const hm_signer *s, char **pem, size_t *len,
    hm_err *err)
{
	X509	*v[34];
	int	 i, n = sk_X509_num(s->chain);

	if (n > 32)
		return hm_seterr(err, HM_E_INTERNAL, "chain too long");
	for (i = 0; i < n; i++)
		v[i] = sk_X509_value(s->chain, i);
	return hm_x509_pem(v, (size_t)n, pem, len, err);
}

int
hm_signer_root_pem(const hm_signer *s, char **pem, size_t *len, hm_err *err)
{
	return hm_x509_pem(&s->root, 1, pem, len, err);
}

int
hm_cert_list(hm_ca *ca, const hm_list_filter *f, hm_cert_cb cb, void *arg,
    hm_err *err)
{
	return ca->store->ops->cert_list(ca->store, f, cb, arg, err);
}

int
hm_cert_lookup(hm_ca *ca, const char *serial, hm_cert_info *info,
    hm_cert **cert, hm_err *err)
{
	char			 norm[41];
	unsigned char		*der = NULL;
	const unsigned char	*p;
	size_t			 len;
	hm_cert_info		 ci;
	X509			*x;
	int			 rc;

	if (hm_serial_normalize(serial, norm, sizeof(norm)) == -1)
		return hm_seterr(err, HM_E_INVALID, "bad serial '%.64s' (want "
		    "hex)", serial);
	if ((rc = ca->store->ops->cert_get(ca->store, norm, &ci,
	    cert != NULL ? &der : NULL, &len, err)) != HM_OK)
		return rc;
	if (cert != NULL) {
		p = der;
		x = d2i_X509(NULL, &p, (long)len);
		free(der);
		if (x == NULL)
			return hm_seterr_ssl(err, HM_E_STORE, "store: "
			    "certificate %s does not parse", norm);
		if ((*cert = hm_cert_from_x509(x, err)) == NULL)
			return err != NULL ? err->code : HM_E_NOMEM;
	}
	if (info != NULL)
		*info = ci;
	return HM_OK;
}
