/* The hallmark CLI: shared declarations. */
#ifndef HM_CLI_H
#define HM_CLI_H

#include <getopt.h>

#include "hallmark/hallmark.h"

#define EXIT_USAGE	2

struct cli {
	const char	*dir;		/* -d, $HALLMARK_DIR or ./hallmark-ca */
	const char	*verb;		/* for messages: "ca new" */
};

/* Where a passphrase comes from: an env var, a file, or the terminal. */
struct passsrc {
	const char	*env;
	const char	*file;
	int		 prompt;
	const char	*opt;	/* option prefix for hints: "--ca-passphrase" */
};

struct cmd {
	const char	*name;
	int		(*fn)(struct cli *, int, char **);
	const char	*usage;		/* one line, after "hallmark " */
	const char	*help;		/* option lines */
};

int	 cmd_init(struct cli *, int, char **);
int	 cmd_ca(struct cli *, int, char **);
int	 cmd_key(struct cli *, int, char **);
int	 cmd_csr(struct cli *, int, char **);
int	 cmd_issue(struct cli *, int, char **);
int	 cmd_list(struct cli *, int, char **);
int	 cmd_show(struct cli *, int, char **);
int	 cmd_lint(struct cli *, int, char **);
int	 cmd_export(struct cli *, int, char **);
int	 cmd_revoke(struct cli *, int, char **);
int	 cmd_crl(struct cli *, int, char **);
int	 cmd_serve(struct cli *, int, char **);
int	 cmd_token(struct cli *, int, char **);
int	 cmd_enroll(struct cli *, int, char **);
int	 cmd_pair(struct cli *, int, char **);
int	 cmd_renew(struct cli *, int, char **);
int	 cmd_agent(struct cli *, int, char **);
int	 cmd_schedule(struct cli *, int, char **);
int	 cmd_backup(struct cli *, int, char **);
int	 cmd_restore(struct cli *, int, char **);
int	 cmd_import(struct cli *, int, char **);

/* cmd_export.c: a key file, asking for its passphrase (src) if need be. */
int	 load_key(const char *path, const struct passsrc *src, hm_key **k);
/* A --key-passphrase-* option (KEY_PASS_OPTIONS) into src: 1 if it was. */
int	 key_pass_opt(struct passsrc *src, int ch, const char *arg);
/* cmd_backup.c: the n --recipient certificates into out. */
int	 recipients_load(char *const *files, size_t n, hm_cert **out);
void	 recipients_free(hm_cert **v, size_t n);
/* der (an archive for nr recipients) to out, 0600; says so. */
int	 archive_write(const char *out, const unsigned char *der, size_t len,
	    int flags, const char *what, const char *dir, size_t nr);

/* util.c */
int	 fail(const hm_err *err);
int	 failx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int	 usage(const struct cmd *c, int status);
int	 cmd_getopt(const struct cmd *c, int argc, char **argv,
	    const char *shortopts, const struct option *lo);
int	 dispatch(struct cli *g, const struct cmd *tab, size_t n, int argc,
	    char **argv, const char *group);
/*
 * A passphrase from src: NULL in *out when none was asked for.  For a
 * new key (confirm set) the terminal asks twice; "what" names the key.
 */
int	 pass_get(const struct passsrc *src, const char *what, int confirm,
	    char **out);
int	 pass_opt(struct passsrc *src, int ch, const char *arg);
/*
 * hm_pass_cb for the library: the source the library names (kind and
 * value), else the one in arg (a struct passsrc, or NULL for none).
 */
int	 lib_pass(const char *what, hm_pass_kind kind, const char *value,
	    int confirm, char **pass, hm_err *err, void *arg);
/* No source given, the key encrypted, a terminal on stdin: ask there. */
void	 pass_auto_prompt(struct passsrc *src, int encrypted);
int	 keytype_opt(const char *arg, hm_keytype *t);
int	 duration_opt(const char *arg, int64_t *secs);
int	 open_ca(struct cli *g, hm_ca **ca);
/* Unlock a CA for signing, prompting on a terminal if its key needs it. */
int	 unlock_ca(hm_ca *ca, const char *name, const struct passsrc *src,
	    hm_signer **s);
/*
 * 0 when path may be written (it does not exist, is "-", or flags has
 * HM_F_FORCE); else an error, said.  Checked before anything is recorded.
 */
int	 out_free(const char *path, int flags);
int	 write_out(const char *path, const void *buf, size_t len,
	    unsigned mode, int flags);
void	 json_str(const char *s);
/* http.c: a reply of hallmark serve, at most HM_ENROLL_MAX bytes. */
struct http_body {
	unsigned char	buf[HM_ENROLL_MAX + 1];	/* NUL-terminated */
	size_t		len;
	int		toobig;
};
struct http_opts {
	const char	*cacert;	/* to trust for https://, or NULL */
	const char	*cert, *key;	/* the client's, for mutual TLS */
	const char	*keypass;	/* the key's passphrase, or NULL */
};
/*
 * POST req to base + path (base without a trailing slash); network
 * failures are retried (3 tries, the same bytes).  0 with the reply in b
 * and its HTTP status in *status, or -1 (said).
 */
int	 http_post(const char *base, const char *path,
	    const struct http_opts *o, const char *ctype,
	    const unsigned char *req, size_t len, struct http_body *b,
	    long *status);

/* What a listing callback keeps: JSON or a table, and rows so far. */
struct list_state {
	int	json;
	int	n;
};
/*
 * A "VERB list [--json]" command: parse its options, open the CA and
 * call run, between "[" and "]" with --json.
 */
/*
 * A "VERB ID" command: no options, one argument, fn applied to it in
 * the CA; "DONE ID" said when it worked.
 */
int	 id_verb(struct cli *g, const struct cmd *c, int argc, char **argv,
	    int (*fn)(hm_ca *, const char *, hm_err *), const char *done);
int	 list_verb(struct cli *g, const struct cmd *c, int argc, char **argv,
	    int (*run)(hm_ca *, struct list_state *, hm_err *));
const char *fmt_time(time_t t, char buf[32]);

/* Long options shared by the verbs that take a passphrase. */
#define OPT_PASS_ENV		0x101
#define OPT_PASS_FILE		0x102
#define OPT_PASS_PROMPT		0x103
#define OPT_CA_PASS_ENV		0x104
#define OPT_CA_PASS_FILE	0x105
#define OPT_CA_PASS_PROMPT	0x106
#define IS_CA_PASS_OPT(ch) \
	((ch) == OPT_CA_PASS_ENV || (ch) == OPT_CA_PASS_FILE || \
	(ch) == OPT_CA_PASS_PROMPT)
#define PASS_OPTIONS \
	{ "passphrase-env", required_argument, NULL, OPT_PASS_ENV }, \
	{ "passphrase-file", required_argument, NULL, OPT_PASS_FILE }, \
	{ "passphrase-prompt", no_argument, NULL, OPT_PASS_PROMPT }
#define CA_PASS_OPTIONS \
	{ "ca-passphrase-env", required_argument, NULL, OPT_CA_PASS_ENV }, \
	{ "ca-passphrase-file", required_argument, NULL, OPT_CA_PASS_FILE }, \
	{ "ca-passphrase-prompt", no_argument, NULL, OPT_CA_PASS_PROMPT }
/* The passphrase of a key being read (export p12, import, restore). */
#define OPT_KEY_PASS_ENV	0x201
#define OPT_KEY_PASS_FILE	0x202
#define OPT_KEY_PASS_PROMPT	0x203
#define KEY_PASS_OPTIONS \
	{ "key-passphrase-env", required_argument, NULL, OPT_KEY_PASS_ENV }, \
	{ "key-passphrase-file", required_argument, NULL, OPT_KEY_PASS_FILE }, \
	{ "key-passphrase-prompt", no_argument, NULL, OPT_KEY_PASS_PROMPT }
#define KEY_PASS_HELP \
	"  --key-passphrase-env VAR  passphrase of KEY, in $VAR\n" \
	"  --key-passphrase-file F   ... in the first line of file F\n" \
	"  --key-passphrase-prompt   ... typed at the terminal (the default when\n" \
	"                            KEY is encrypted and stdin is a terminal)\n"
/* The options of renew that agent shares (cmd_renew.c). */
#define RENEW_OPTIONS \
	{ "server", required_argument, NULL, 's' }, \
	{ "cert", required_argument, NULL, 'c' }, \
	{ "key", required_argument, NULL, 'k' }, \
	{ "chain", required_argument, NULL, 'C' }, \
	{ "cacert", required_argument, NULL, 'a' }, \
	{ "reuse-key", no_argument, NULL, 'r' }, \
	{ "key-type", required_argument, NULL, 't' }, \
	{ "help", no_argument, NULL, 'h' }, \
	PASS_OPTIONS

#define PASS_HELP \
	"  --passphrase-env VAR   encrypt the new key with the passphrase in $VAR\n" \
	"  --passphrase-file F    ... with the first line of file F\n" \
	"  --passphrase-prompt    ... with one typed at the terminal (no echo)\n"
#define CA_PASS_HELP \
	"  --ca-passphrase-env VAR  passphrase of the signing CA's key, in $VAR\n" \
	"  --ca-passphrase-file F   ... in the first line of file F\n" \
	"  --ca-passphrase-prompt   ... typed at the terminal (the default when\n" \
	"                           the key is encrypted and stdin is a terminal)\n"

#endif
