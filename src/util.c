/* Helpers shared by the verbs: errors, options, passphrases, output. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

#define PASS_MAX	1024

int
fail(const hm_err *err)
{
	fprintf(stderr, "hallmark: %s\n", err->msg[0] != '\0' ? err->msg :
	    hm_strerror(err->code));
	return EXIT_FAILURE;
}

int
failx(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "hallmark: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILURE;
}

/* What getopt found wrong, for the one-line usage error. */
static char	badopt[128];

int
usage(const struct cmd *c, int status)
{
	if (status == 0) {
		printf("usage: hallmark [-d DIR] %s\n", c->usage);
		if (c->help != NULL)
			printf("\n%s", c->help);
		return 0;
	}
	fprintf(stderr, "hallmark: %s%susage: hallmark [-d DIR] %s "
	    "(see --help)\n", badopt, badopt[0] ? "; " : "", c->usage);
	return status;
}

int
dispatch(struct cli *g, const struct cmd *tab, size_t n, int argc,
    char **argv, const char *group)
{
	size_t	i;

	if (argc < 1) {
		fprintf(stderr, "usage: hallmark %s", group);
		for (i = 0; i < n; i++)
			fprintf(stderr, "%s%s", i ? "|" : " ", tab[i].name);
		fprintf(stderr, " ...\n");
		return EXIT_USAGE;
	}
	for (i = 0; i < n; i++)
		if (strcmp(argv[0], tab[i].name) == 0) {
			g->verb = tab[i].name;
			return tab[i].fn(g, argc, argv);
		}
	if (group != NULL && (strcmp(argv[0], "--help") == 0 ||
	    strcmp(argv[0], "-h") == 0)) {
		printf("usage:\n");
		for (i = 0; i < n; i++)
			printf("  hallmark [-d DIR] %s\n", tab[i].usage);
		return 0;
	}
	failx("unknown verb '%s%s%s' (see hallmark --help)",
	    group != NULL ? group : "", group != NULL ? " " : "", argv[0]);
	return EXIT_USAGE;
}

int
cmd_getopt(const struct cmd *c, int argc, char **argv, const char *shortopts,
    const struct option *lo)
{
	char	opts[64];
	int	ch;

	(void)c;
	/* Leading ':' and opterr = 0: errors are ours, on one line. */
	snprintf(opts, sizeof(opts), ":%s", shortopts);
	opterr = 0;
	ch = getopt_long(argc, argv, opts, lo, NULL);
	if (ch == '?' || ch == ':') {
		const char *arg = optind > 0 && optind <= argc ?
		    argv[optind - 1] : "?";
		if (ch == ':')
			snprintf(badopt, sizeof(badopt), "option '%.64s' needs "
			    "a value", arg);
		else if (optopt != 0)
			snprintf(badopt, sizeof(badopt), "unknown option "
			    "'-%c'", optopt);
		else	/* the name only: "--x=value" may carry a secret */
			snprintf(badopt, sizeof(badopt), "unknown option "
			    "'%.*s'", (int)strcspn(arg, "="), arg);
		ch = '?';
	}
	return ch;
}

int
pass_opt(struct passsrc *src, int ch, const char *arg)
{
	switch (ch) {
	case OPT_PASS_ENV:
	case OPT_CA_PASS_ENV:
		src->env = arg;
		return 1;
	case OPT_PASS_FILE:
	case OPT_CA_PASS_FILE:
		src->file = arg;
		return 1;
	case OPT_PASS_PROMPT:
	case OPT_CA_PASS_PROMPT:
		src->prompt = 1;
		return 1;
	}
	return 0;
}

/* Read one line without echo from the terminal. */
static char *
tty_read(const char *prompt)
{
	struct termios	 old, noecho;
	char		 buf[PASS_MAX + 2], *r = NULL;
	FILE		*tty;
	size_t		 n;

	if ((tty = fopen("/dev/tty", "r+e")) == NULL)
		return NULL;
	if (tcgetattr(fileno(tty), &old) == -1)
		goto out;
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	fprintf(tty, "%s", prompt);
	fflush(tty);
	if (tcsetattr(fileno(tty), TCSAFLUSH, &noecho) == -1)
		goto out;
	if (fgets(buf, sizeof(buf), tty) != NULL) {
		n = strcspn(buf, "\r\n");
		buf[n] = '\0';
		r = strdup(buf);
	}
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fprintf(tty, "\n");
 out:
	explicit_bzero(buf, sizeof(buf));
	fclose(tty);
	return r;
}

static int
pass_file(const char *path, char **out)
{
	unsigned char	*buf;
	size_t		 len, n;
	hm_err		 err;

	if (hm_file_read(path, PASS_MAX, &buf, &len, &err) != HM_OK)
		return fail(&err);
	for (n = 0; n < len && buf[n] != '\n' && buf[n] != '\r'; n++)
		if (buf[n] == '\0') {
			explicit_bzero(buf, len);
			free(buf);
			return failx("%s: passphrase holds a NUL byte", path);
		}
	*out = strndup((char *)buf, n);
	explicit_bzero(buf, len);
	free(buf);
	return *out == NULL ? failx("out of memory") : 0;
}

int
pass_get(const struct passsrc *src, const char *what, int confirm,
    char **out)
{
	char	 prompt[160], *p = NULL, *again;
	int	 n = (src->env != NULL) + (src->file != NULL) + src->prompt;
	hm_err	 err;

	*out = NULL;
	if (n > 1)
		return failx("give one passphrase source for %s", what);
	if (src->env != NULL) {
		const char *v = getenv(src->env);
		if (v == NULL || *v == '\0')
			return failx("environment variable %s (passphrase "
			    "for %s) is unset or empty", src->env, what);
		if ((p = strdup(v)) == NULL)
			return failx("out of memory");
	} else if (src->file != NULL) {
		if (pass_file(src->file, &p) != 0)
			return EXIT_FAILURE;
	} else if (src->prompt) {
		snprintf(prompt, sizeof(prompt), "Passphrase for %s: ", what);
		if ((p = tty_read(prompt)) == NULL)
			return failx("no terminal to ask the passphrase for "
			    "%s on (give %s-env VAR or %s-file F)", what,
			    src->opt != NULL ? src->opt : "--passphrase",
			    src->opt != NULL ? src->opt : "--passphrase");
		if (confirm) {
			snprintf(prompt, sizeof(prompt), "Again: ");
			if ((again = tty_read(prompt)) == NULL ||
			    strcmp(again, p) != 0) {
				hm_secret_free(again);
				hm_secret_free(p);
				return failx("passphrases do not match");
			}
			hm_secret_free(again);
		}
	} else
		return 0;
	if (*p == '\0') {
		hm_secret_free(p);
		return failx("passphrase for %s is empty", what);
	}
	if (confirm && hm_passphrase_check(p, &err) != HM_OK) {
		hm_secret_free(p);
		return failx("%s: %s", what, err.msg);
	}
	*out = p;
	return 0;
}

int
lib_pass(const char *what, hm_pass_kind kind, const char *value,
    int confirm, char **pass, hm_err *err, void *arg)
{
	struct passsrc	ps = { 0 };

	if (arg != NULL)
		ps = *(const struct passsrc *)arg;
	if (kind == HM_PASS_ENV)
		ps.env = value;
	else if (kind == HM_PASS_FILE)
		ps.file = value;
	else if (kind == HM_PASS_PROMPT)
		ps.prompt = 1;
	if (pass_get(&ps, what, confirm, pass) != 0 || *pass == NULL) {
		err->code = HM_E_PASSPHRASE;
		if (ps.opt != NULL)
			snprintf(err->msg, sizeof(err->msg), "no passphrase for "
			    "%s (give %s-env VAR, %s-file F or %s-prompt)",
			    what, ps.opt, ps.opt, ps.opt);
		else
			snprintf(err->msg, sizeof(err->msg), "no passphrase for "
			    "%s", what);
		return HM_E_PASSPHRASE;
	}
	return HM_OK;
}

void
pass_auto_prompt(struct passsrc *src, int encrypted)
{
	if (src->env == NULL && src->file == NULL && encrypted &&
	    isatty(STDIN_FILENO))
		src->prompt = 1;
}

int
keytype_opt(const char *arg, hm_keytype *t)
{
	hm_err	err;

	if (hm_keytype_parse(arg, t, &err) != HM_OK)
		return fail(&err);
	return 0;
}

int
duration_opt(const char *arg, int64_t *secs)
{
	hm_err	err;

	if (hm_duration_parse(arg, secs, &err) != HM_OK)
		return fail(&err);
	return 0;
}

int
open_ca(struct cli *g, hm_ca **ca)
{
	hm_err	err;

	if (hm_ca_open(g->dir, ca, &err) != HM_OK)
		return fail(&err);
	return 0;
}

int
unlock_ca(hm_ca *ca, const char *name, const struct passsrc *src,
    hm_signer **s)
{
	struct passsrc	 p = *src;
	char		 what[128], *pass = NULL;
	hm_err		 err;
	int		 rc, had;

	p.opt = "--ca-passphrase";
	snprintf(what, sizeof(what), "the key of CA '%s'",
	    name != NULL ? name : HM_ROOT_NAME);
	pass_auto_prompt(&p, hm_ca_key_encrypted(ca, name));
	if (pass_get(&p, what, 0, &pass) != 0)
		return EXIT_FAILURE;
	had = pass != NULL;
	rc = hm_ca_signer(ca, name, pass, s, &err);
	hm_secret_free(pass);
	if (rc != HM_OK) {
		if (rc == HM_E_PASSPHRASE && !had)
			return failx("%s (give --ca-passphrase-env VAR, "
			    "--ca-passphrase-file F or --ca-passphrase-prompt)",
			    err.msg);
		return fail(&err);
	}
	return 0;
}

int
out_free(const char *path, int flags)
{
	if (path == NULL || (flags & HM_F_FORCE) || strcmp(path, "-") == 0 ||
	    access(path, F_OK) != 0)
		return 0;
	return failx("%s exists; refusing to overwrite it (use --force to "
	    "replace)", path);
}

int
write_out(const char *path, const void *buf, size_t len, unsigned mode,
    int flags)
{
	hm_err	err;

	if (strcmp(path, "-") == 0) {
		if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0)
			return failx("writing to stdout: %s", strerror(errno));
		return 0;
	}
	if (hm_file_write(path, buf, len, mode, flags, &err) != HM_OK)
		return fail(&err);
	return 0;
}

int
id_verb(struct cli *g, const struct cmd *c, int argc, char **argv,
    int (*fn)(hm_ca *, const char *, hm_err *), const char *done)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	hm_ca	*ca;
	hm_err	 err;
	int	 ch, rc;

	while ((ch = cmd_getopt(c, argc, argv, "h", lo)) != -1) {
		switch (ch) {
		case 'h': return usage(c, 0);
		default: return usage(c, EXIT_USAGE);
		}
	}
	if (optind != argc - 1)
		return usage(c, EXIT_USAGE);
	if (open_ca(g, &ca) != 0)
		return EXIT_FAILURE;
	rc = fn(ca, argv[optind], &err);
	hm_ca_close(ca);
	if (rc != HM_OK)
		return fail(&err);
	printf("%s %s\n", done, argv[optind]);
	return 0;
}

int
list_verb(struct cli *g, const struct cmd *c, int argc, char **argv,
    int (*run)(hm_ca *, struct list_state *, hm_err *))
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct list_state	 ls = { 0, 0 };
	hm_ca			*ca;
	hm_err			 err;
	int			 ch, rc;

	while ((ch = cmd_getopt(c, argc, argv, "h", lo)) != -1) {
		switch (ch) {
		case 'j': ls.json = 1; break;
		case 'h': return usage(c, 0);
		default: return usage(c, EXIT_USAGE);
		}
	}
	if (optind != argc)
		return usage(c, EXIT_USAGE);
	if (open_ca(g, &ca) != 0)
		return EXIT_FAILURE;
	if (ls.json)
		printf("[");
	rc = run(ca, &ls, &err);
	if (ls.json)
		printf("%s]\n", ls.n ? "\n" : "");
	hm_ca_close(ca);
	return rc == HM_OK ? 0 : fail(&err);
}

void
json_str(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;

	putchar('"');
	for (; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

const char *
fmt_time(time_t t, char buf[32])
{
	struct tm	tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, 32, "%lld", (long long)t);
	return buf;
}
