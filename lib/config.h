/*
 * The hierarchy file (man/hallmark.yaml.5), as config.c loads it: every
 * value checked for type and syntax, every cross-reference resolved, and
 * the rules that need no CA directory checked (duplicate names, unknown
 * parents and issuers, cycles, pathlen against depth, a child outliving
 * its parent, names outside explicit name constraints).  Every error reads
 * "FILE:LINE:COLUMN: message".
 */
#ifndef HM_CONFIG_H
#define HM_CONFIG_H

#include "internal.h"

#define HM_CFG_MAX		(1024 * 1024)	/* bytes of YAML */
#define HM_CFG_ITEMS_MAX	4096		/* CAs, profiles or nodes */

struct hm_cfg_pos {
	int	line, col;	/* 1-based; 0: not in the file (a default) */
};

/* Subject fields; NULL when not given.  C is two letters, the rest 1-64. */
struct hm_cfg_subject {
	char			*c, *st, *l, *o, *ou, *cn;
};

enum hm_cfg_pass_kind {
	HM_CFG_PASS_NONE = 0,
	HM_CFG_PASS_ENV,	/* passphrase_env: VAR */
	HM_CFG_PASS_FILE,	/* passphrase_file: PATH (resolved) */
	HM_CFG_PASS_PROMPT,	/* passphrase_prompt: true */
};

struct hm_cfg_pass {
	enum hm_cfg_pass_kind	 kind;
	char			*value;	/* VAR or PATH; NULL for the others */
	struct hm_cfg_pos	 pos;
};

/*
 * Name constraints: "dns:example.com", "ip:10.0.0.0/8", "ip:fd00::/8"
 * (checked with hm_constraint_check), or auto: the DNS and IP names of
 * every node below the CA (config.c fills permitted: "dns:NAME" and
 * "ip:ADDR/32" or "/128").
 */
struct hm_cfg_constraints {
	int			 set;		/* the key was given */
	int			 automatic;	/* constraints: auto */
	char			**permitted;
	size_t			 npermitted;
	char			**excluded;
	size_t			 nexcluded;
	struct hm_cfg_pos	 pos;
};

/* Key usages and extended key usages: HM_KU_* and HM_EKU_* of hallmark.h. */
struct hm_cfg_profile {
	char			*name;
	int			 ca;		/* ca: true */
	unsigned		 key_usage;	/* HM_KU_*; 0: not given */
	unsigned		 eku;		/* HM_EKU_*; 0: not given */
	int64_t			 validity;	/* 0: not given */
	int			 pathlen;	/* -1: not given (CA only) */
	int			 san_required;	/* -1: not given */
	int			 wildcards;	/* -1: not given */
	struct hm_cfg_constraints nc;		/* CA only */
	struct hm_cfg_pos	 pos;
};

struct hm_cfg_ca {
	char			*name;		/* "root" for the root */
	char			*parent_name;	/* NULL for the root */
	struct hm_cfg_ca	*parent;	/* resolved; NULL for the root */
	int			 depth;		/* root 0 */
	struct hm_cfg_subject	 subject;	/* CN defaults to the name */
	hm_keytype		 key_type;
	int64_t			 validity;	/* seconds */
	int			 pathlen;	/* -1: none */
	const struct hm_cfg_profile *profile;	/* CA profile or NULL */
	struct hm_cfg_constraints nc;		/* own or the profile's */
	struct hm_cfg_pass	 pass;
	int			 offline;	/* root only: offline: true */
	struct hm_cfg_pos	 pos;		/* the mapping */
	struct hm_cfg_pos	 pos_parent, pos_validity, pos_pathlen;
	struct hm_cfg_pos	 pos_offline;
};

/* schedule: the signers under the root (hm_sched_params). */
struct hm_cfg_sched {
	int			 set;		/* the section was given */
	hm_sched_params		 p;		/* p.prefix borrows prefix */
	char			*prefix;
	struct hm_cfg_pass	 pass;		/* the signers' keys */
	struct hm_cfg_pos	 pos, pos_lead, pos_validity;
};

struct hm_cfg_node {
	char			*name;
	hm_profile_id		 profile;	/* built-in, or NONE: custom */
	const struct hm_cfg_profile *custom;	/* when profile is NONE */
	struct hm_cfg_ca	*issuer;
	struct hm_cfg_subject	 subject;	/* CN defaults to the name */
	hm_keytype		 key_type;
	hm_names		*sans;
	int64_t			 validity;	/* seconds */
	/* Output paths, resolved against the file's directory. */
	char			*key, *cert, *chain, *ca_bundle;
	struct hm_cfg_pass	 pass;
	struct hm_cfg_pos	 pos, pos_issuer, pos_validity, pos_sans;
};

struct hm_cfg {
	char			*path;		/* as given, for messages */
	char			*dir;		/* its directory */
	int64_t			 renew_before;	/* defaults.renew_before */
	struct hm_cfg_ca	 root;
	struct hm_cfg_ca	*cas;		/* intermediates, file order */
	size_t			 ncas;
	struct hm_cfg_profile	*profiles;
	size_t			 nprofiles;
	struct hm_cfg_node	*nodes;
	size_t			 nnodes;
	struct hm_cfg_sched	 sched;
};

/*
 * Load path (at most HM_CFG_MAX bytes).  On failure err says
 * "path:line:col: what is wrong" and *out is untouched.
 */
int	 hm_cfg_load(const char *path, struct hm_cfg **out, hm_err *err);
/* The same from memory; name stands for the file in messages and dir
 * resolves relative paths. */
int	 hm_cfg_parse(const char *buf, size_t len, const char *name,
	    const char *dir, struct hm_cfg **out, hm_err *err);
void	 hm_cfg_free(struct hm_cfg *c);
/* The CA named name (the root for "root"), or NULL. */
struct hm_cfg_ca *hm_cfg_ca_find(struct hm_cfg *c, const char *name);

#endif /* HM_CONFIG_H */
