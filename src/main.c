/* hallmark: a private certificate authority for the machines you control. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cmd verbs[] = {
	{ "init", cmd_init, "init --cn NAME [options]",
	  "create a self-signed root CA, its key and the inventory in DIR" },
	{ "ca", cmd_ca, "ca new|list [options]",
	  "create and list intermediate CAs" },
	{ "schedule", cmd_schedule, "schedule --config FILE [--dry-run]",
	  "pre-create the root's intermediate signers, quarter by quarter" },
	{ "key", cmd_key, "key new [options] -o FILE", "generate a key" },
	{ "csr", cmd_csr, "csr new|show [options]",
	  "build or inspect a certificate signing request" },
	{ "issue", cmd_issue, "issue --profile P (--csr F | --new-key F) "
	  "-o CERT [options]", "issue a certificate from a profile" },
	{ "list", cmd_list, "list [--expiring D] [--ca NAME] [--json]",
	  "list the certificates in the inventory" },
	{ "lint", cmd_lint, "lint CERT... | lint --all",
	  "check certificates against the issuance rules" },
	{ "export", cmd_export, "export --recipient CERT -o FILE [options] | "
	  "export p12 ...", "export the signers, encrypted; or PKCS#12" },
	{ "import", cmd_import, "import FILE --key KEY [options]",
	  "take in the signers an export carries" },
	{ "backup", cmd_backup, "backup --recipient CERT -o FILE",
	  "write an encrypted backup of the whole CA" },
	{ "restore", cmd_restore, "restore FILE -d NEWDIR --key KEY",
	  "rebuild a CA from a backup" },
	{ "revoke", cmd_revoke, "revoke SERIAL [--reason R]",
	  "revoke a certificate" },
	{ "crl", cmd_crl, "crl [--ca NAME] -o FILE [options]",
	  "write a signed CRL of what a CA revoked" },
	{ "serve", cmd_serve, "serve [--listen ADDR:PORT] [options]",
	  "publish CRLs and answer OCSP over HTTP" },
	{ "show", cmd_show, "show SERIAL [--pem] [--json]",
	  "show one certificate of the inventory" },
	{ "enroll", cmd_enroll, "enroll --server URL --token TOKEN "
	  "[options]", "get this machine's certificate with a token" },
	{ "agent", cmd_agent, "agent --server URL --cert C --key K [options]",
	  "renew this machine's certificate whenever it is due" },
	{ "renew", cmd_renew, "renew --server URL --cert C --key K [options]",
	  "renew this machine's certificate over mutual TLS" },
	{ "pair", cmd_pair, "pair list|approve|reject [options]",
	  "approve new machines that paired by comparing a code" },
	{ "token", cmd_token, "token new|list|revoke [options]",
	  "one-time keys for enrolling new machines" },
};

static int
main_usage(int status)
{
	FILE	*f = status == 0 ? stdout : stderr;
	size_t	 i;

	fprintf(f, "usage: hallmark [-d DIR] VERB [options]\n\n"
	    "  -d DIR   the CA directory (default: $HALLMARK_DIR, else "
	    "./hallmark-ca)\n\nverbs:\n");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-6s %s\n", verbs[i].name, verbs[i].help);
	fprintf(f, "\n'hallmark VERB --help' tells more; man hallmark has "
	    "it all.\n");
	return status;
}

int
main(int argc, char **argv)
{
	struct cli	 g;
	int		 i = 1;

	memset(&g, 0, sizeof(g));
	g.dir = getenv("HALLMARK_DIR");
	if (g.dir == NULL || *g.dir == '\0')
		g.dir = "./hallmark-ca";
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
			g.dir = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			return main_usage(0);
		else if (strcmp(argv[i], "--version") == 0) {
			printf("hallmark 0.1.0\n");
			return 0;
		} else {
			fprintf(stderr, "hallmark: unknown option '%.64s' (see "
			    "hallmark --help)\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (i >= argc)
		return main_usage(EXIT_USAGE);
	if (*g.dir == '\0')
		return failx("-d: empty directory");
	return dispatch(&g, verbs, sizeof(verbs) / sizeof(verbs[0]),
	    argc - i, argv + i, NULL);
}
