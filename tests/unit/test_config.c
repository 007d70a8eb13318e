/*
 * lib/config.c: the hierarchy file.  One valid file using every feature
 * (anchors, aliases, a merge key overridden by an explicit key, defaults,
 * paths, auto constraints), then one test per rule that refuses a file,
 * each checking the error code and the exact FILE:LINE:COL it points at.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "config.h"

#define NAME	"h.yaml"
#define DIR	"/etc/hm"

/* What hm_cfg_parse must leave in *out on failure. */
static struct hm_cfg	 sentinel;

static struct hm_cfg *
parse_ok(const char *yaml)
{
	struct hm_cfg	*c = NULL;
	hm_err		 err;

	HM_CHECK(hm_cfg_parse(yaml, strlen(yaml), NAME, DIR, &c, &err), &err);
	assert_non_null(c);
	return c;
}

/* yaml is refused with code and a message starting with prefix. */
static void
refused(const char *yaml, int code, const char *prefix)
{
	struct hm_cfg	*c = &sentinel;
	hm_err		 err;
	int		 rc;

	memset(&err, 0, sizeof(err));
	rc = hm_cfg_parse(yaml, strlen(yaml), NAME, DIR, &c, &err);
	if (rc != code || err.code != code ||
	    strncmp(err.msg, prefix, strlen(prefix)) != 0)
		fail_msg("want %d '%s...', got %d '%s'", code, prefix, rc,
		    err.msg);
	assert_ptr_equal(c, &sentinel);
}

static const char *
str_at(char *const *v, size_t n, size_t i)
{
	return i < n ? v[i] : "(none)";
}

/* ---- A valid file ------------------------------------------------------- */

static const char full[] =
    "version: 1\n"					/*  1 */
    "x-ca: &ca\n"					/*  2 */
    "  key_type: p384\n"				/*  3 */
    "  validity: 3y\n"					/*  4 */
    "  passphrase_env: HM_CA_PASS\n"			/*  5 */
    "x-subj: &subj\n"					/*  6 */
    "  O: Example\n"					/*  7 */
    "  OU: ops\n"					/*  8 */
    "defaults:\n"					/*  9 */
    "  subject:\n"					/* 10 */
    "    C: DE\n"					/* 11 */
    "    O: Default Org\n"				/* 12 */
    "  key_type: ed25519\n"				/* 13 */
    "  validity: 30d\n"					/* 14 */
    "  renew_before: 7d\n"				/* 15 */
    "  out_dir: out\n"					/* 16 */
    "root:\n"						/* 17 */
    "  subject:\n"					/* 18 */
    "    CN: Example Root\n"				/* 19 */
    "  pathlen: 2\n"					/* 20 */
    "  passphrase_prompt: true\n"			/* 21 */
    "profiles:\n"					/* 22 */
    "  - name: edge-ca\n"				/* 23 */
    "    ca: true\n"					/* 24 */
    "    pathlen: 0\n"					/* 25 */
    "    validity: 2y\n"				/* 26 */
    "    constraints: auto\n"				/* 27 */
    "  - name: ota\n"					/* 28 */
    "    key_usage: [digitalSignature]\n"		/* 29 */
    "    extended_key_usage: [codeSigning, clientAuth]\n" /* 30 */
    "    validity: 7d\n"				/* 31 */
    "intermediates:\n"					/* 32 */
    "  - <<: *ca\n"					/* 33 */
    "    name: master\n"				/* 34 */
    "    parent: root\n"				/* 35 */
    "    validity: 4y\n"				/* 36 */
    "    pathlen: 1\n"					/* 37 */
    "    subject: *subj\n"				/* 38 */
    "    constraints:\n"				/* 39 */
    "      permitted: [dns:example.com, dns:example.net,\n" /* 40 */
    "          \"ip:10.0.0.0/8\", \"ip:2001:db8::/32\"]\n" /* 41 */
    "      excluded: [dns:bad.example.com]\n"		/* 42 */
    "  - name: edge\n"					/* 43 */
    "    parent: master\n"				/* 44 */
    "    profile: edge-ca\n"				/* 45 */
    "nodes:\n"						/* 46 */
    "  - name: web1\n"					/* 47 */
    "    profile: server\n"				/* 48 */
    "    issuer: master\n"				/* 49 */
    "    sans: [dns:Web1.Example.com, ip:10.0.0.1]\n"	/* 50 */
    "    validity: 90d\n"				/* 51 */
    "  - name: robot.example.net\n"			/* 52 */
    "    profile: ota\n"				/* 53 */
    "    issuer: edge\n"				/* 54 */
    "    sans: [\"ip:2001:db8::1\"]\n"			/* 55 */
    "    key: /abs/robot.key\n"				/* 56 */
    "    passphrase_file: secrets/robot.pass\n"		/* 57 */
    "  - name: cam\n"					/* 58 */
    "    profile: client\n"				/* 59 */
    "    issuer: edge\n"				/* 60 */
    "    out_dir: cams/c1\n"				/* 61 */
    "    subject: {CN: Camera 1, <<: *subj, OU: cams}\n" /* 62 */
    "    sans: [dns:cam.example.net, dns:CAM.example.net]\n"; /* 63 */

static void
test_full(void **state)
{
	struct hm_cfg		*c;
	struct hm_cfg_ca	*r, *m, *e;
	struct hm_cfg_node	*n;
	hm_name_type		 t;
	const char		*v;

	(void)state;
	c = parse_ok(full);
	assert_string_equal(c->path, NAME);
	assert_string_equal(c->dir, DIR);
	assert_int_equal(c->renew_before, 7 * 86400);
	assert_int_equal(c->nprofiles, 2);
	assert_int_equal(c->ncas, 2);
	assert_int_equal(c->nnodes, 3);

	r = &c->root;
	assert_ptr_equal(hm_cfg_ca_find(c, "root"), r);
	assert_string_equal(r->name, "root");
	assert_null(r->parent);
	assert_int_equal(r->depth, 0);
	assert_int_equal(r->pathlen, 2);
	assert_int_equal(r->validity, 10 * HM_YEAR);
	assert_int_equal(r->key_type, HM_KEY_ED25519);	/* defaults */
	assert_string_equal(r->subject.cn, "Example Root");
	assert_string_equal(r->subject.c, "DE");
	assert_string_equal(r->subject.o, "Default Org");
	assert_null(r->subject.ou);
	assert_int_equal(r->pass.kind, HM_CFG_PASS_PROMPT);
	assert_int_equal(r->pass.pos.line, 21);
	assert_int_equal(r->pass.pos.col, 3);
	assert_int_equal(r->nc.set, 0);
	assert_int_equal(r->pos.line, 18);

	/* The merge key: explicit validity wins, the rest arrives. */
	m = hm_cfg_ca_find(c, "master");
	assert_ptr_equal(m, &c->cas[0]);
	assert_ptr_equal(m->parent, r);
	assert_int_equal(m->depth, 1);
	assert_int_equal(m->validity, 4 * HM_YEAR);
	assert_int_equal(m->pos_validity.line, 36);
	assert_int_equal(m->pos_validity.col, 15);
	assert_int_equal(m->key_type, HM_KEY_P384);
	assert_int_equal(m->pass.kind, HM_CFG_PASS_ENV);
	assert_string_equal(m->pass.value, "HM_CA_PASS");
	assert_int_equal(m->pathlen, 1);
	assert_int_equal(m->pos.line, 33);
	assert_int_equal(m->pos.col, 5);
	assert_int_equal(m->pos_parent.line, 35);
	assert_int_equal(m->pos_parent.col, 13);
	/* The aliased subject, and the defaults under it. */
	assert_string_equal(m->subject.o, "Example");
	assert_string_equal(m->subject.ou, "ops");
	assert_string_equal(m->subject.c, "DE");
	assert_string_equal(m->subject.cn, "master");
	assert_null(m->profile);
	assert_int_equal(m->nc.set, 1);
	assert_int_equal(m->nc.automatic, 0);
	assert_int_equal(m->nc.npermitted, 4);
	assert_string_equal(m->nc.permitted[3], "ip:2001:db8::/32");
	assert_int_equal(m->nc.nexcluded, 1);
	assert_string_equal(m->nc.excluded[0], "dns:bad.example.com");

	/* A CA profile's validity, pathlen and constraints. */
	e = hm_cfg_ca_find(c, "edge");
	assert_ptr_equal(e, &c->cas[1]);
	assert_ptr_equal(e->parent, m);
	assert_int_equal(e->depth, 2);
	assert_ptr_equal(e->profile, &c->profiles[0]);
	assert_int_equal(e->validity, 2 * HM_YEAR);
	assert_int_equal(e->pos_validity.line, 0);
	assert_int_equal(e->pathlen, 0);
	assert_int_equal(e->key_type, HM_KEY_ED25519);
	assert_int_equal(e->pass.kind, HM_CFG_PASS_NONE);
	assert_string_equal(e->subject.cn, "edge");
	assert_string_equal(e->subject.o, "Default Org");
	/* constraints: auto, from the nodes below, in file order. */
	assert_int_equal(e->nc.set, 1);
	assert_int_equal(e->nc.automatic, 1);
	assert_int_equal(e->nc.nexcluded, 0);
	assert_int_equal(e->nc.npermitted, 3);
	assert_string_equal(str_at(e->nc.permitted, e->nc.npermitted, 0),
	    "ip:2001:db8::1/128");
	assert_string_equal(str_at(e->nc.permitted, e->nc.npermitted, 1),
	    "dns:robot.example.net");
	assert_string_equal(str_at(e->nc.permitted, e->nc.npermitted, 2),
	    "dns:cam.example.net");
	assert_null(hm_cfg_ca_find(c, "nope"));

	assert_string_equal(c->profiles[1].name, "ota");
	assert_int_equal(c->profiles[1].ca, 0);
	assert_int_equal(c->profiles[1].key_usage, HM_KU_DIGITAL_SIGNATURE);
	assert_int_equal(c->profiles[1].eku,
	    HM_EKU_CODE_SIGNING | HM_EKU_CLIENT);
	assert_int_equal(c->profiles[1].pathlen, -1);
	assert_int_equal(c->profiles[1].san_required, -1);
	assert_int_equal(c->profiles[1].wildcards, -1);
	assert_int_equal(c->profiles[0].pathlen, 0);

	n = &c->nodes[0];
	assert_string_equal(n->name, "web1");
	assert_int_equal(n->profile, HM_PROFILE_SERVER);
	assert_null(n->custom);
	assert_ptr_equal(n->issuer, m);
	assert_int_equal(n->validity, 90 * 86400);
	assert_int_equal(n->key_type, HM_KEY_ED25519);
	assert_int_equal(hm_names_count(n->sans), 2);
	assert_int_equal(hm_names_get(n->sans, 0, &t, &v), HM_OK);
	assert_int_equal(t, HM_NAME_DNS);
	assert_string_equal(v, "web1.example.com");
	assert_string_equal(n->subject.cn, "web1");
	assert_string_equal(n->subject.c, "DE");
	assert_string_equal(n->key, DIR "/out/web1/key.pem");
	assert_string_equal(n->cert, DIR "/out/web1/cert.pem");
	assert_string_equal(n->chain, DIR "/out/web1/chain.pem");
	assert_string_equal(n->ca_bundle, DIR "/out/web1/ca.pem");
	assert_int_equal(n->pos.line, 47);
	assert_int_equal(n->pos.col, 5);
	assert_int_equal(n->pos_issuer.line, 49);
	assert_int_equal(n->pos_issuer.col, 13);
	assert_int_equal(n->pos_sans.line, 50);
	assert_int_equal(n->pos_sans.col, 5);
	assert_int_equal(n->pos_validity.line, 51);

	/* A custom profile's validity is the more specific default. */
	n = &c->nodes[1];
	assert_int_equal(n->profile, HM_PROFILE_NONE);
	assert_ptr_equal(n->custom, &c->profiles[1]);
	assert_ptr_equal(n->issuer, e);
	assert_int_equal(n->validity, 7 * 86400);
	assert_string_equal(n->key, "/abs/robot.key");
	assert_string_equal(n->cert, DIR "/out/robot.example.net/cert.pem");
	assert_int_equal(n->pass.kind, HM_CFG_PASS_FILE);
	assert_string_equal(n->pass.value, DIR "/secrets/robot.pass");
	assert_string_equal(n->subject.cn, "robot.example.net");

	n = &c->nodes[2];
	assert_int_equal(n->profile, HM_PROFILE_CLIENT);
	assert_int_equal(n->validity, 30 * 86400);	/* defaults */
	assert_int_equal(hm_names_count(n->sans), 1);	/* duplicates */
	assert_string_equal(n->key, DIR "/cams/c1/key.pem");
	assert_string_equal(n->ca_bundle, DIR "/cams/c1/ca.pem");
	/* A merge in a flow mapping, with keys on both sides of it. */
	assert_string_equal(n->subject.cn, "Camera 1");
	assert_string_equal(n->subject.o, "Example");
	assert_string_equal(n->subject.ou, "cams");
	hm_cfg_free(c);
}

/* The smallest file, and what defaults to what. */
static void
test_minimal(void **state)
{
	struct hm_cfg	*c;

	(void)state;
	c = parse_ok("root: {}\nnodes: [{name: a, profile: client, "
	    "issuer: root}]\n");
	assert_int_equal(c->renew_before, 30 * 86400);
	assert_int_equal(c->root.pathlen, -1);
	assert_int_equal(c->root.key_type, HM_KEY_DEFAULT);
	assert_int_equal(c->root.validity, 10 * HM_YEAR);
	assert_string_equal(c->root.subject.cn, "root");
	assert_null(c->root.subject.o);
	assert_int_equal(c->root.pass.kind, HM_CFG_PASS_NONE);
	assert_int_equal(c->ncas, 0);
	assert_int_equal(c->nodes[0].validity, 90 * 86400);
	assert_string_equal(c->nodes[0].key, DIR "/nodes/a/key.pem");
	assert_non_null(c->nodes[0].sans);
	assert_int_equal(hm_names_count(c->nodes[0].sans), 0);
	hm_cfg_free(c);

	/* An intermediate's defaults: 5y, pathlen 0; "." keeps paths. */
	{
		struct hm_cfg	*d = NULL;
		const char	 y[] = "root: {}\nintermediates: [{name: i, "
		    "parent: root}]\nnodes: [{name: a, profile: client, "
		    "issuer: i}]\n";
		hm_err		 err;

		HM_CHECK(hm_cfg_parse(y, strlen(y), NAME, NULL, &d, &err),
		    &err);
		assert_int_equal(d->cas[0].validity, 5 * HM_YEAR);
		assert_int_equal(d->cas[0].pathlen, 0);
		assert_string_equal(d->dir, ".");
		assert_string_equal(d->nodes[0].key, "nodes/a/key.pem");
		hm_cfg_free(d);
	}
}

/* hm_cfg_load: the directory of the file resolves relative paths. */
static void
test_load(void **state)
{
	struct hm_cfg	*c = NULL;
	hm_err		 err;
	const char	 y[] = "root: {}\nnodes:\n  - {name: a, profile: "
	    "client, issuer: root, cert: c.pem}\n";
	char		 dir[512];

	(void)state;
	snprintf(dir, sizeof(dir), "%s", tu_path("cfg"));
	assert_int_equal(mkdir(dir, 0755), 0);
	tu_write(tu_path("cfg/h.yaml"), y, strlen(y));
	HM_CHECK(hm_cfg_load(tu_path("cfg/h.yaml"), &c, &err), &err);
	assert_string_equal(c->dir, dir);
	assert_string_equal(c->path, tu_path("cfg/h.yaml"));
	assert_string_equal(c->nodes[0].cert, tu_path("cfg/c.pem"));
	assert_string_equal(c->nodes[0].key, tu_path("cfg/nodes/a/key.pem"));
	hm_cfg_free(c);

	c = &sentinel;
	assert_int_equal(hm_cfg_load(tu_path("cfg/none.yaml"), &c, &err),
	    HM_E_NOTFOUND);
	assert_ptr_equal(c, &sentinel);
}

/* ---- One test per rejection rule ---------------------------------------- */

static void
test_unknown_key(void **state)
{
	(void)state;
	refused("root: {}\n"
	    "nodes:\n"
	    "  - name: web1\n"
	    "    profile: client\n"
	    "    isuer: root\n",
	    HM_E_INVALID, NAME ":5:5: unknown key 'isuer' in node 'web1' "
	    "(expected one of: name, profile, issuer, ");
	refused("root: {}\nroots: {}\n", HM_E_INVALID,
	    NAME ":2:1: unknown key 'roots' in the file");
	refused("root:\n  subject: {CN: r, CM: x}\n", HM_E_INVALID,
	    NAME ":2:20: unknown key 'CM' in subject");
	refused("root: {constraints: auto}\n", HM_E_INVALID,
	    NAME ":1:8: unknown key 'constraints' in root");
	/* x- keys are ignored, at the top level only. */
	{
		struct hm_cfg *c = parse_ok("x-whatever: [1, {a: b}]\n"
		    "root: {}\n");
		hm_cfg_free(c);
	}
	refused("root: {x-a: 1}\n", HM_E_INVALID,
	    NAME ":1:8: unknown key 'x-a' in root");
}

static void
test_wrong_type(void **state)
{
	(void)state;
	/* A mapping where a string is expected. */
	refused("root: {}\n"
	    "intermediates:\n"
	    "  - name: a\n"
	    "    parent: {name: root}\n",
	    HM_E_INVALID, NAME ":4:14: parent: expected a string, not a "
	    "mapping");
	/* A string where a mapping is expected. */
	refused("root:\n  subject: CN=x\n", HM_E_INVALID,
	    NAME ":2:12: subject: expected a mapping, not a string");
	/* A mapping where a sequence is expected. */
	refused("root: {}\nnodes: {name: a}\n", HM_E_INVALID,
	    NAME ":2:9: nodes: expected a sequence, not a mapping");
	/* Booleans and integers are plain YAML scalars. */
	refused("root: {passphrase_prompt: yes}\n", HM_E_INVALID,
	    NAME ":1:27: passphrase_prompt: expected true or false");
	refused("root: {pathlen: \"1\"}\n", HM_E_INVALID,
	    NAME ":1:17: pathlen: expected an integer from 0 to 16");
	refused("root: {pathlen: 17}\n", HM_E_INVALID,
	    NAME ":1:17: pathlen: expected an integer from 0 to 16");
	/* An empty value. */
	refused("root:\n  key_type:\n", HM_E_INVALID,
	    NAME ":2:3: key_type: no value");
	refused("version: 2\nroot: {}\n", HM_E_INVALID,
	    NAME ":1:10: version 2");
	refused("root: {key_type: !!str p256}\n", HM_E_INVALID,
	    NAME ":1:18: key_type: YAML tags are not supported");
	refused("- root\n", HM_E_INVALID,
	    NAME ":1:3: the file must be a mapping");
	refused("nodes: []\n", HM_E_INVALID, NAME ":1:1: no root");
}

static void
test_duplicate_yaml_key(void **state)
{
	(void)state;
	refused("root:\n"
	    "  validity: 5y\n"
	    "  key_type: p256\n"
	    "  validity: 6y\n",
	    HM_E_INVALID, NAME ":4:3: duplicate key");
}

static void
test_duplicate_name(void **state)
{
	(void)state;
	refused("root: {}\n"
	    "intermediates:\n"
	    "  - name: a\n"
	    "    parent: root\n"
	    "  - name: a\n"
	    "    parent: root\n",
	    HM_E_INVALID, NAME ":5:11: intermediate 'a' is already defined "
	    "at line 3");
	refused("root: {}\n"
	    "profiles:\n"
	    "  - {name: p, extended_key_usage: [clientAuth]}\n"
	    "  - {name: p, extended_key_usage: [serverAuth]}\n",
	    HM_E_INVALID, NAME ":4:12: profile 'p' is already defined at "
	    "line 3");
	refused("root: {}\n"
	    "nodes:\n"
	    "  - {name: n, profile: client, issuer: root}\n"
	    "  - {name: n, profile: client, issuer: root}\n",
	    HM_E_INVALID, NAME ":4:12: node 'n' is already defined at line 3");
}

static void
test_missing_parent(void **state)
{
	(void)state;
	refused("root: {}\n"
	    "intermediates:\n"
	    "  - name: a\n"
	    "    parent: b\n",
	    HM_E_INVALID, NAME ":4:13: parent 'b' of intermediate 'a' is not "
	    "defined");
	refused("root: {}\nintermediates:\n  - name: a\n", HM_E_INVALID,
	    NAME ":3:5: intermediate 'a' without a parent");
}

static void
test_missing_issuer(void **state)
{
	(void)state;
	refused("root: {}\n"
	    "nodes:\n"
	    "  - name: n\n"
	    "    profile: client\n"
	    "    issuer: master\n",
	    HM_E_INVALID, NAME ":5:13: issuer 'master' of node 'n' is not "
	    "defined");
}

static void
test_missing_profile(void **state)
{
	(void)state;
	refused("root: {}\n"
	    "nodes:\n"
	    "  - name: n\n"
	    "    profile: srever\n"
	    "    issuer: root\n",
	    HM_E_INVALID, NAME ":4:14: node 'n': no profile 'srever'");
	refused("root: {}\n"
	    "intermediates:\n"
	    "  - {name: a, parent: root, profile: edge}\n",
	    HM_E_INVALID, NAME ":3:38: no profile 'edge'");
	/* A node needs an end-entity profile, a CA a CA profile. */
	refused("root: {}\n"
	    "profiles: [{name: e, ca: true}]\n"
	    "nodes: [{name: n, profile: e, issuer: root}]\n",
	    HM_E_INVALID, NAME ":3:28: node 'n': profile 'e' is a CA profile");
	refused("root: {}\n"
	    "profiles: [{name: e, extended_key_usage: [clientAuth]}]\n"
	    "intermediates: [{name: a, parent: root, profile: e}]\n",
	    HM_E_INVALID, NAME ":3:50: profile 'e' is not a CA profile");
}

static void
test_cycle(void **state)
{
	(void)state;
	refused("root: {}\n"
	    "intermediates:\n"
	    "  - name: a\n"
	    "    parent: c\n"
	    "  - name: b\n"
	    "    parent: a\n"
	    "  - name: c\n"
	    "    parent: b\n",
	    HM_E_INVALID, NAME ":4:13: intermediates in a parent cycle: "
	    "a -> c -> b -> a");
	refused("root: {}\n"
	    "intermediates:\n"
	    "  - {name: a, parent: a}\n",
	    HM_E_INVALID, NAME ":3:23: intermediates in a parent cycle: "
	    "a -> a");
}

static void
test_pathlen_zero(void **state)
{
	struct hm_cfg	*c;

	(void)state;
	/* An intermediate's pathlen defaults to 0: nothing below it. */
	refused("root: {}\n"
	    "intermediates:\n"
	    "  - name: a\n"
	    "    parent: root\n"
	    "  - name: b\n"
	    "    parent: a\n",
	    HM_E_POLICY, NAME ":6:13: intermediate 'b' is 1 level below 'a', "
	    "whose pathlen 0 allows no intermediate below it");
	/* The root's pathlen 0: end entities only. */
	refused("root: {pathlen: 0}\n"
	    "intermediates: [{name: a, parent: root}]\n",
	    HM_E_POLICY, NAME ":2:35: intermediate 'a' is 1 level below "
	    "'root', whose pathlen 0 allows no intermediate below it");
	/* ... which nodes may still use. */
	c = parse_ok("root: {pathlen: 0}\n"
	    "nodes: [{name: n, profile: client, issuer: root}]\n");
	hm_cfg_free(c);
}

static void
test_pathlen_one(void **state)
{
	struct hm_cfg	*c;

	(void)state;
	/* pathlen 1: one level of intermediates below, not two. */
	c = parse_ok("root: {pathlen: 1}\n"
	    "intermediates:\n"
	    "  - {name: a, parent: root}\n"
	    "nodes: [{name: n, profile: client, issuer: a}]\n");
	assert_int_equal(c->cas[0].depth, 1);
	hm_cfg_free(c);
	refused("root: {pathlen: 1}\n"
	    "intermediates:\n"
	    "  - {name: a, parent: root, pathlen: 1}\n"
	    "  - {name: b, parent: a}\n",
	    HM_E_POLICY, NAME ":4:23: intermediate 'b' is 2 levels below "
	    "'root', whose pathlen 1 allows at most 1 level of "
	    "intermediates below it");
	/* An intermediate's pathlen 1, taken from its CA profile. */
	c = parse_ok("root: {}\n"
	    "profiles: [{name: p, ca: true, pathlen: 1}]\n"
	    "intermediates:\n"
	    "  - {name: a, parent: root, profile: p}\n"
	    "  - {name: b, parent: a}\n");
	assert_int_equal(c->cas[0].pathlen, 1);
	assert_int_equal(c->cas[1].depth, 2);
	hm_cfg_free(c);
	refused("root: {}\n"
	    "profiles: [{name: p, ca: true, pathlen: 1}]\n"
	    "intermediates:\n"
	    "  - {name: a, parent: root, profile: p}\n"
	    "  - {name: b, parent: a, pathlen: 1}\n"
	    "  - {name: c, parent: b}\n",
	    HM_E_POLICY, NAME ":6:23: intermediate 'c' is 2 levels below "
	    "'a', whose pathlen 1 allows at most 1 level");
}

/* root: offline: true needs passphrases everywhere; read as a boolean. */
static void
test_offline(void **state)
{
	struct hm_cfg	*c;

	(void)state;
	c = parse_ok("root: {offline: true, passphrase_env: P}\n"
	    "intermediates:\n"
	    "  - {name: a, parent: root, passphrase_env: P}\n");
	assert_true(c->root.offline);
	hm_cfg_free(c);
	c = parse_ok("root: {}\n");
	assert_false(c->root.offline);
	hm_cfg_free(c);
	refused("root: {offline: true}\n", HM_E_INVALID,
	    NAME ":1:17: an offline root needs a passphrase");
	refused("root: {offline: true, passphrase_env: P}\n"
	    "intermediates:\n"
	    "  - {name: a, parent: root}\n", HM_E_INVALID,
	    NAME ":3:6: intermediate 'a' needs the root's passphrase");
	refused("root: {offline: yes, passphrase_env: P}\n", HM_E_INVALID,
	    NAME ":1:17: offline");
}

/* schedule: defaults, values, and the checks that need no directory. */
static void
test_schedule(void **state)
{
	struct hm_cfg	*c;

	(void)state;
	c = parse_ok("root: {}\nschedule: {}\n");
	assert_true(c->sched.set);
	assert_int_equal(c->sched.p.quantum, 0);	/* the library's 4 */
	hm_cfg_free(c);
	c = parse_ok("root: {}\n");
	assert_false(c->sched.set);
	hm_cfg_free(c);
	c = parse_ok("root: {}\n"
	    "schedule:\n"
	    "  quantum: 12\n"
	    "  lead: 1y\n"
	    "  validity: 61d\n"
	    "  overlap: 30d\n"
	    "  prefix: issuing\n"
	    "  key_type: p384\n"
	    "  passphrase_env: S\n");
	assert_int_equal(c->sched.p.quantum, 12);
	assert_int_equal(c->sched.p.lead, HM_YEAR);
	assert_int_equal(c->sched.p.validity, 61 * 86400);
	assert_int_equal(c->sched.p.overlap, 30 * 86400);
	assert_string_equal(c->sched.p.prefix, "issuing");
	assert_int_equal(c->sched.p.key_type, HM_KEY_P384);
	assert_int_equal(c->sched.pass.kind, HM_CFG_PASS_ENV);
	hm_cfg_free(c);
	refused("root: {}\nschedule: {validity: 100d, overlap: 30d}\n",
	    HM_E_INVALID, NAME ":2:22: validity 100d is too short");
	refused("root: {}\nschedule: {quantum: 5}\n", HM_E_INVALID,
	    NAME ":2:12: quantum 5");
	refused("root: {validity: 2y}\nschedule: {lead: 2y}\n",
	    HM_E_INVALID, NAME ":2:18: lead 2y and overlap 90d do not fit");
	refused("root: {}\nschedule: {leed: 2y}\n", HM_E_INVALID,
	    NAME ":2:12: ");
}

static void
test_intermediate_outlives_parent(void **state)
{
	(void)state;
	refused("root: {validity: 5y}\n"
	    "intermediates:\n"
	    "  - name: a\n"
	    "    parent: root\n"
	    "    validity: 6y\n",
	    HM_E_POLICY, NAME ":5:15: intermediate 'a' would outlive its "
	    "parent 'root' (6y > 5y)");
	/* The default 5y against a 4y root: at the intermediate. */
	refused("root: {validity: 4y}\n"
	    "intermediates:\n"
	    "  - name: a\n"
	    "    parent: root\n",
	    HM_E_POLICY, NAME ":3:5: intermediate 'a' would outlive its "
	    "parent 'root' (5y > 4y)");
}

static void
test_node_outlives_issuer(void **state)
{
	(void)state;
	refused("root: {}\n"
	    "intermediates: [{name: master, parent: root, validity: 365d}]\n"
	    "nodes:\n"
	    "  - name: web1\n"
	    "    profile: client\n"
	    "    issuer: master\n"
	    "    validity: 400d\n",
	    HM_E_POLICY, NAME ":7:15: node 'web1' would outlive its issuer "
	    "'master' (400d > 1y)");
	/* From defaults.validity: at the node. */
	refused("defaults: {validity: 2y}\n"
	    "root: {validity: 1y}\n"
	    "nodes:\n"
	    "  - name: web1\n"
	    "    profile: client\n"
	    "    issuer: root\n",
	    HM_E_POLICY, NAME ":4:5: node 'web1' would outlive its issuer "
	    "'root' (2y > 1y)");
}

static const char nc_head[] =
    "root: {}\n"
    "intermediates:\n"
    "  - name: m\n"
    "    parent: root\n"
    "    constraints:\n"
    "      permitted: [dns:example.com, ip:10.0.0.0/8]\n"
    "      excluded: [dns:bad.example.com]\n"
    "nodes:\n"
    "  - name: n\n"
    "    profile: server\n"
    "    issuer: m\n";

static void
nc_case(const char *sans, int code, const char *prefix)
{
	char	buf[1024];

	snprintf(buf, sizeof(buf), "%s    sans: %s\n", nc_head, sans);
	if (code == HM_OK) {
		hm_cfg_free(parse_ok(buf));
		return;
	}
	refused(buf, code, prefix);
}

static void
test_nc_dns(void **state)
{
	(void)state;
	nc_case("[dns:a.example.com, ip:10.1.2.3]", HM_OK, NULL);
	nc_case("[dns:a.example.com, dns:example.org]", HM_E_POLICY,
	    NAME ":12:5: name dns:example.org is outside the names it "
	    "permits of CA 'm'");
	nc_case("[dns:x.bad.example.com]", HM_E_POLICY,
	    NAME ":12:5: name dns:x.bad.example.com is among the names it "
	    "excludes of CA 'm'");
	/* The CN counts when there is no DNS name; at the node then. */
	refused("root: {}\n"
	    "intermediates:\n"
	    "  - {name: m, parent: root, constraints: {permitted: "
	    "[dns:example.com]}}\n"
	    "nodes:\n"
	    "  - name: web.example.org\n"
	    "    profile: client\n"
	    "    issuer: m\n",
	    HM_E_POLICY, NAME ":5:5: common name 'web.example.org' is "
	    "outside the names it permits of CA 'm'");
}

static void
test_nc_ip(void **state)
{
	(void)state;
	nc_case("[dns:a.example.com, ip:192.168.1.1]", HM_E_POLICY,
	    NAME ":12:5: name ip:192.168.1.1 is outside the names it permits "
	    "of CA 'm'");
	/* An ancestor's constraints hold below its children too. */
	refused("root: {}\n"
	    "intermediates:\n"
	    "  - name: m\n"
	    "    parent: root\n"
	    "    pathlen: 1\n"
	    "    constraints: {permitted: [ip:10.0.0.0/8]}\n"
	    "  - {name: e, parent: m}\n"
	    "nodes:\n"
	    "  - {name: n, profile: client, issuer: e, sans: [ip:11.0.0.1]}\n",
	    HM_E_POLICY, NAME ":9:43: name ip:11.0.0.1 is outside the names "
	    "it permits of CA 'm'");
	/* Syntax of a constraint, at the entry. */
	refused("root: {}\n"
	    "intermediates:\n"
	    "  - name: m\n"
	    "    parent: root\n"
	    "    constraints: {permitted: [ip:10.0.0.1/8]}\n",
	    HM_E_INVALID, NAME ":5:31: IP constraint '10.0.0.1/8' has bits "
	    "set beyond its prefix");
	refused("root: {}\n"
	    "intermediates:\n"
	    "  - {name: m, parent: root, constraints: {}}\n",
	    HM_E_INVALID, NAME ":3:29: constraints: give permitted and/or "
	    "excluded names, or auto");
}

static void
test_server_without_san(void **state)
{
	(void)state;
	refused("root: {}\n"
	    "nodes:\n"
	    "  - name: web1\n"
	    "    profile: server\n"
	    "    issuer: root\n",
	    HM_E_POLICY, NAME ":3:5: node 'web1' needs at least one name under "
	    "sans");
	/* A custom profile with serverAuth is a server profile. */
	refused("root: {}\n"
	    "profiles: [{name: web, extended_key_usage: [serverAuth]}]\n"
	    "nodes:\n"
	    "  - {name: web1, profile: web, issuer: root, sans: []}\n",
	    HM_E_POLICY, NAME ":4:6: node 'web1' needs at least one name");
	/* Wildcards: server and both, or wildcards: true. */
	refused("root: {}\n"
	    "nodes:\n"
	    "  - name: c\n"
	    "    profile: client\n"
	    "    issuer: root\n"
	    "    sans: [dns:*.example.com]\n",
	    HM_E_POLICY, NAME ":6:5: node 'c': wildcard names need profile "
	    "server or both");
}

/* What each kind of profile may say. */
/* Two nodes writing one file, or one node two of its files to one path. */
static void
test_same_output_path(void **state)
{
	(void)state;
	refused("root: {}\n"
	    "nodes:\n"
	    "  - {name: a, profile: client, issuer: root}\n"
	    "  - {name: b, profile: client, issuer: root, out_dir: nodes/a}\n",
	    HM_E_INVALID, NAME ":4:6: node 'b' writes ");
	refused("root: {}\n"
	    "nodes:\n"
	    "  - {name: a, profile: client, issuer: root}\n"
	    "  - name: b\n"
	    "    profile: client\n"
	    "    issuer: root\n"
	    "    key: nodes/a/cert.pem\n",
	    HM_E_INVALID, NAME ":4:5: node 'b' writes ");
	refused("root: {}\n"
	    "nodes:\n"
	    "  - {name: a, profile: client, issuer: root, key: x.pem, "
	    "cert: x.pem}\n",
	    HM_E_INVALID, NAME ":3:6: node 'a' writes two of its files");
}

static void
test_profile_rules(void **state)
{
	(void)state;
	refused("root: {}\n"
	    "profiles:\n"
	    "  - name: p\n"
	    "    key_usage: [digitalSignature]\n",
	    HM_E_INVALID, NAME ":3:5: profile 'p' needs extended_key_usage");
	refused("root: {}\n"
	    "profiles:\n"
	    "  - name: p\n"
	    "    key_usage: [digitalSignature, keyCertSign]\n"
	    "    extended_key_usage: [clientAuth]\n",
	    HM_E_INVALID, NAME ":4:35: keyCertSign is for CA certificates "
	    "only");
	/* A CA's key usages are fixed: a CA profile may not name any. */
	refused("root: {}\n"
	    "profiles:\n"
	    "  - name: p\n"
	    "    ca: true\n"
	    "    key_usage: [keyCertSign]\n",
	    HM_E_INVALID, NAME ":5:5: key_usage is for end-entity profiles "
	    "only");
	refused("root: {}\n"
	    "profiles:\n"
	    "  - name: p\n"
	    "    extended_key_usage: [clientAuth]\n"
	    "    pathlen: 1\n",
	    HM_E_INVALID, NAME ":5:5: pathlen is for CA profiles only");
	refused("root: {}\n"
	    "profiles:\n"
	    "  - name: p\n"
	    "    extended_key_usage: [clientAuth]\n"
	    "    ca: true\n",
	    HM_E_INVALID, NAME ":4:5: extended_key_usage is for end-entity "
	    "profiles only");
	refused("root: {}\n"
	    "profiles: [{name: server, extended_key_usage: [serverAuth]}]\n",
	    HM_E_INVALID, NAME ":2:19: 'server' is a built-in profile's name");
	refused("root: {}\n"
	    "profiles: [{name: p, extended_key_usage: [serverauth]}]\n",
	    HM_E_INVALID, NAME ":2:43: unknown extended key usage "
	    "'serverauth'");
}

static void
test_bad_key_type(void **state)
{
	(void)state;
	refused("root: {}\n"
	    "nodes:\n"
	    "  - name: n\n"
	    "    profile: client\n"
	    "    issuer: root\n"
	    "    key_type: p257\n",
	    HM_E_INVALID, NAME ":6:15: unknown key type 'p257'");
}

static void
test_bad_duration(void **state)
{
	(void)state;
	refused("root:\n  validity: 10 years\n", HM_E_INVALID,
	    NAME ":2:13: bad duration '10 years'");
	refused("defaults: {renew_before: 0d}\nroot: {}\n", HM_E_INVALID,
	    NAME ":1:26: bad duration '0d'");
	refused("root: {validity: [1y]}\n", HM_E_INVALID,
	    NAME ":1:19: validity: expected a duration");
}

static void
test_bad_subject_c(void **state)
{
	(void)state;
	refused("defaults:\n"
	    "  subject:\n"
	    "    C: Germany\n"
	    "root: {}\n",
	    HM_E_INVALID, NAME ":3:8: country 'Germany' is not two capital "
	    "letters");
	refused("root: {subject: {C: de}}\n", HM_E_INVALID,
	    NAME ":1:21: country 'de' is not two capital letters");
	/* Neither a CN among the defaults, nor one over 64 characters. */
	refused("defaults: {subject: {CN: x}}\nroot: {}\n", HM_E_INVALID,
	    NAME ":1:22: CN can not be a default");
	refused("root: {subject: {O: \"\"}}\n", HM_E_INVALID,
	    NAME ":1:21: subject O must be 1 to 64 characters");
}

static void
test_two_passphrase_sources(void **state)
{
	(void)state;
	refused("root:\n"
	    "  passphrase_env: ROOT_PASS\n"
	    "  validity: 5y\n"
	    "  passphrase_file: root.pass\n",
	    HM_E_INVALID, NAME ":4:3: passphrase_file: give one passphrase "
	    "source only (passphrase_env is at line 2)");
	/* A merged source and an explicit one are two sources too. */
	refused("x-p: &p {passphrase_env: A}\n"
	    "root: {}\n"
	    "nodes:\n"
	    "  - <<: *p\n"
	    "    name: n\n"
	    "    profile: client\n"
	    "    issuer: root\n"
	    "    passphrase_prompt: true\n",
	    HM_E_INVALID, NAME ":8:5: passphrase_prompt: give one passphrase "
	    "source only (passphrase_env is at line 1)");
	refused("root: {passphrase_env: 1ROOT}\n", HM_E_INVALID,
	    NAME ":1:24: passphrase_env: bad variable name '1ROOT'");
}

static void
test_yaml_syntax_error(void **state)
{
	(void)state;
	refused("root:\n"
	    "  subject: {CN: x\n"
	    "  validity: 5y\n",
	    HM_E_INVALID, NAME ":3:11: ");
	refused("root: {}\n\tnodes: []\n", HM_E_INVALID, NAME ":2:1: ");
	refused("root: {}\nnodes: *nowhere\n", HM_E_INVALID,
	    NAME ":2:8: alias *nowhere: no anchor &nowhere before it");
	refused("root: {}\n---\nroot: {}\n", HM_E_INVALID,
	    NAME ":2:1: a second YAML document");
	refused("", HM_E_INVALID, NAME ":1:1: no YAML document");
	refused("# nothing\n", HM_E_INVALID, NAME ":1:1: no YAML document");
	refused("x-a: &a {b: *a}\nroot: {}\n", HM_E_INVALID, NAME
	    ":1:13: alias *a is inside the node it names");
	/* Not UTF-8, control characters: before libfyaml sees them. */
	refused("root: {subject: {O: \"\xff\"}}\n", HM_E_INVALID,
	    NAME ":1:22: not UTF-8 (byte 0xff)");
	refused("root: {}\n# \x1b[2J\n", HM_E_INVALID,
	    NAME ":2:3: character U+001B is not allowed in YAML");
	/* libfyaml 0.7.12 misreads '' '' in a single-quoted string. */
	refused("root: {subject: {O: 'a''''b'}}\n", HM_E_INVALID,
	    NAME ":1:23: four ' in a row");
	/* A NUL in a string. */
	{
		struct hm_cfg	*c = &sentinel;
		const char	 y[] = "root: {subject: {CN: \"a\\0b\"}}\n";
		hm_err		 err;

		assert_int_equal(hm_cfg_parse(y, sizeof(y) - 1, NAME, DIR, &c,
		    &err), HM_E_INVALID);
		assert_string_equal(err.msg, NAME ":1:22: CN: holds a NUL "
		    "character");
		assert_ptr_equal(c, &sentinel);
	}
}

/* The library never prints: libfyaml's diagnostics are captured. */
static void
test_quiet(void **state)
{
	struct hm_cfg	*c = &sentinel;
	hm_err		 err;
	const char	 y[] = "root: {\n  a: [\n";
	FILE		*f;
	int		 saved;
	long		 size;

	(void)state;
	fflush(stderr);
	assert_non_null(f = fopen(tu_path("stderr"), "w+"));
	assert_true((saved = dup(2)) != -1);
	assert_int_equal(dup2(fileno(f), 2), 2);
	assert_int_equal(hm_cfg_parse(y, strlen(y), NAME, DIR, &c, &err),
	    HM_E_INVALID);
	assert_int_equal(hm_cfg_parse("", 0, NAME, DIR, &c, &err),
	    HM_E_INVALID);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	fclose(f);
	assert_int_equal(size, 0);
	assert_int_equal(strncmp(err.msg, NAME ":1:1: ", 10), 0);
}

/* Billion laughs: refused before libfyaml expands it. */
static void
test_alias_bomb(void **state)
{
	char	buf[4096];
	size_t	off = 0;
	int	i, j;

	(void)state;
	off += (size_t)snprintf(buf + off, sizeof(buf) - off,
	    "x-0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (i = 1; i < 9; i++) {
		off += (size_t)snprintf(buf + off, sizeof(buf) - off,
		    "x-%d: &a%d [", i, i);
		for (j = 0; j < 10; j++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
			    "%s*a%d", j ? ", " : "", i - 1);
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "]\n");
	}
	snprintf(buf + off, sizeof(buf) - off, "root: {}\n");
	refused(buf, HM_E_TOOBIG, NAME ":6:");
}

static void
test_too_big(void **state)
{
	struct hm_cfg	*c = &sentinel;
	hm_err		 err;
	char		*big;
	size_t		 n = HM_CFG_MAX + 1;

	(void)state;
	big = malloc(n);
	assert_non_null(big);
	memset(big, '#', n);
	assert_int_equal(hm_cfg_parse(big, n, NAME, DIR, &c, &err),
	    HM_E_TOOBIG);
	assert_string_equal(err.msg, NAME ":1:1: over 1048576 bytes");
	tu_write(tu_path("big.yaml"), big, n);
	assert_int_equal(hm_cfg_load(tu_path("big.yaml"), &c, &err),
	    HM_E_TOOBIG);
	assert_int_equal(strncmp(err.msg, tu_path("big.yaml"),
	    strlen(tu_path("big.yaml"))), 0);
	assert_string_equal(err.msg + strlen(tu_path("big.yaml")),
	    ":1:1: over 1048576 bytes");
	assert_ptr_equal(c, &sentinel);
	free(big);

	/* Too many entries in a section. */
	{
		char	*y;
		size_t	 i, off, cap = 8 * (HM_CFG_ITEMS_MAX + 1) + 64;

		y = malloc(cap);
		assert_non_null(y);
		off = (size_t)snprintf(y, cap, "root: {}\nprofiles:\n");
		for (i = 0; i <= HM_CFG_ITEMS_MAX; i++)
			off += (size_t)snprintf(y + off, cap - off, "  - {}\n");
		refused(y, HM_E_TOOBIG, NAME ":2:1: profiles: more than 4096 "
		    "entries");
		free(y);
	}
}

static void
test_not_regular(void **state)
{
	struct hm_cfg	*c = &sentinel;
	hm_err		 err;
	char		 want[600];

	(void)state;
	snprintf(want, sizeof(want), "%s:1:1: not a regular file",
	    tu_tmpdir());
	assert_int_equal(hm_cfg_load(tu_tmpdir(), &c, &err), HM_E_IO);
	assert_string_equal(err.msg, want);
	/* A FIFO must not hang the load. */
	assert_int_equal(mkfifo(tu_path("fifo"), 0600), 0);
	snprintf(want, sizeof(want), "%s:1:1: not a regular file",
	    tu_path("fifo"));
	assert_int_equal(hm_cfg_load(tu_path("fifo"), &c, &err), HM_E_IO);
	assert_string_equal(err.msg, want);
	assert_ptr_equal(c, &sentinel);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_duplicate_yaml_key),
		cmocka_unit_test(test_duplicate_name),
		cmocka_unit_test(test_missing_parent),
		cmocka_unit_test(test_missing_issuer),
		cmocka_unit_test(test_missing_profile),
		cmocka_unit_test(test_cycle),
		cmocka_unit_test(test_pathlen_zero),
		cmocka_unit_test(test_pathlen_one),
		cmocka_unit_test(test_intermediate_outlives_parent),
		cmocka_unit_test(test_node_outlives_issuer),
		cmocka_unit_test(test_offline),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_nc_dns),
		cmocka_unit_test(test_nc_ip),
		cmocka_unit_test(test_server_without_san),
		cmocka_unit_test(test_same_output_path),
		cmocka_unit_test(test_profile_rules),
		cmocka_unit_test(test_bad_key_type),
		cmocka_unit_test(test_bad_duration),
		cmocka_unit_test(test_bad_subject_c),
		cmocka_unit_test(test_two_passphrase_sources),
		cmocka_unit_test(test_yaml_syntax_error),
		cmocka_unit_test(test_quiet),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_not_regular),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
