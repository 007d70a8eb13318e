/* hallmark issue: a certificate from a profile, committed then written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const struct cmd cmd = { "issue", NULL,
    "issue --profile server|client|both (--csr FILE | --new-key KEYFILE) "
    "[--ca NAME] [--cn CN] [--san TYPE:VALUE]... [--validity 90d] -o CERT "
    "[--chain-out FILE]",
    "Issue a certificate.  The profile decides every extension; the CSR\n"
    "gives its public key and, unless --cn/--san say otherwise, its names.\n"
    "The certificate is recorded in the inventory before it is written.\n\n"
    "  --profile P            server, client or both (required)\n"
    "  --csr FILE             the request (PEM or DER, at most 64 KiB)\n"
    "  --new-key KEYFILE      instead of --csr: generate a key here (0600;\n"
    "                         an offline directory wants it encrypted)\n"
    "  --key-type T           its type (default p256)\n"
    "  --ca NAME              the issuing CA (default: root)\n"
    "  --cn CN                the common name (default: the CSR's)\n"
    "  --san TYPE:VALUE       dns:, ip:, email:, uri: (repeatable; replaces "
    "the CSR's)\n"
    "  --validity D           lifetime (default 90d; never past the CA's)\n"
    "  -o, --out CERT         the certificate (PEM)\n"
    "  --chain-out FILE       the certificate and the CAs above it, root "
    "excluded\n"
    "  --force                replace output files that exist\n"
    PASS_HELP CA_PASS_HELP };

int
cmd_issue(struct cli *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "csr", required_argument, NULL, 'r' },
		{ "new-key", required_argument, NULL, 'n' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },
		{ "cn", required_argument, NULL, 'c' },
		{ "san", required_argument, NULL, 's' },
		{ "validity", required_argument, NULL, 'v' },
		{ "out", required_argument, NULL, 'o' },
		{ "chain-out", required_argument, NULL, 'C' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		PASS_OPTIONS, CA_PASS_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct passsrc	 ps = { 0 }, cps = { 0 };
	hm_issue_req	 req;
	hm_keytype	 kt = HM_KEY_DEFAULT;
	const char	*csrf = NULL, *newkey = NULL, *caname = NULL;
	const char	*out = NULL, *chainout = NULL;
	char		*pass = NULL, *pem = NULL, *chain = NULL, *all = NULL;
	char		 buf[32], subj[256];
	size_t		 pemlen, chainlen;
	hm_names	*sans;
	hm_ca		*ca = NULL;
	hm_signer	*s = NULL;
	hm_key		*k = NULL;
	hm_csr		*csr = NULL;
	hm_cert		*c = NULL;
	hm_err		 err;
	int		 ch, flags = 0, issued = 0, rc = EXIT_FAILURE;
	int		 wrote_key = 0;

	memset(&req, 0, sizeof(req));
	if ((sans = hm_names_new()) == NULL)
		return failx("out of memory");
	while ((ch = cmd_getopt(&cmd, argc, argv, "ho:", lo)) != -1) {
		if (IS_CA_PASS_OPT(ch)) {
			pass_opt(&cps, ch, optarg);
			continue;
		}
		if (pass_opt(&ps, ch, optarg))
			continue;
		switch (ch) {
		case 'p':
			if (hm_profile_parse(optarg, &req.profile, &err) !=
			    HM_OK) {
				fail(&err);
				goto out;
			}
			break;
		case 'r': csrf = optarg; break;
		case 'n': newkey = optarg; break;
		case 'k':
			if (keytype_opt(optarg, &kt) != 0)
				goto out;
			break;
		case 'a': caname = optarg; break;
		case 'c': req.cn = optarg; break;
		case 's':
			if (hm_names_add(sans, optarg, &err) != HM_OK) {
				fail(&err);
				goto out;
			}
			break;
		case 'v':
			if (duration_opt(optarg, &req.validity) != 0)
				goto out;
			break;
		case 'o': out = optarg; break;
		case 'C': chainout = optarg; break;
		case 'f': flags |= HM_F_FORCE; break;
		case 'h': rc = usage(&cmd, 0); goto out;
		default: rc = usage(&cmd, EXIT_USAGE); goto out;
		}
	}
	if (optind != argc || req.profile == HM_PROFILE_NONE || out == NULL ||
	    (csrf == NULL) == (newkey == NULL)) {
		if (csrf != NULL && newkey != NULL)
			failx("give --csr or --new-key, not both");
		rc = usage(&cmd, EXIT_USAGE);
		goto out;
	}
	if (csrf != NULL && (kt != HM_KEY_DEFAULT || ps.env != NULL ||
	    ps.file != NULL || ps.prompt)) {
		failx("--key-type and --passphrase-* describe the key of "
		    "--new-key; with --csr the key is the requester's");
		goto out;
	}
	if (hm_names_count(sans) > 0)
		req.sans = sans;
	/* Refuse early what would fail after the certificate is recorded. */
	if (out_free(out, flags) != 0 || out_free(chainout, flags) != 0 ||
	    out_free(newkey, flags) != 0)
		goto out;
	if (open_ca(g, &ca) != 0 || unlock_ca(ca, caname, &cps, &s) != 0)
		goto out;
	if (csrf != NULL) {
		if (hm_csr_load(csrf, &csr, &err) != HM_OK) {
			fail(&err);
			goto out;
		}
	} else {
		const char	*cn = req.cn;
		hm_name_type	 nt;

		if (cn == NULL && hm_names_get(sans, 0, &nt, &cn) != HM_OK) {
			failx("--new-key needs --cn or --san");
			goto out;
		}
		if (pass_get(&ps, "the new key", 1, &pass) != 0)
			goto out;
		if (pass == NULL && hm_ca_offline(ca)) {
			failx("%s is an offline CA directory: --new-key needs "
			    "a --passphrase-* to encrypt the key with", g->dir);
			goto out;
		}
		if (hm_key_generate(kt, &k, &err) != HM_OK ||
		    hm_csr_new(k, cn, sans, &csr, &err) != HM_OK ||
		    hm_key_save(k, newkey, pass, flags, &err) != HM_OK) {
			fail(&err);
			goto out;
		}
		wrote_key = 1;
	}
	req.csr = csr;
	if (hm_issue(s, &req, &c, &issued, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	if (issued & HM_ISSUED_CLAMPED)
		fprintf(stderr, "hallmark: note: validity cut to that of CA "
		    "'%s': until %s\n", caname != NULL ? caname : HM_ROOT_NAME,
		    fmt_time(hm_cert_not_after(c), buf));
	/* Recorded: from here on, the key stays even if a write fails. */
	wrote_key = 0;
	if (hm_cert_pem(c, &pem, &pemlen, &err) != HM_OK) {
		fail(&err);
		goto out;
	}
	if (write_out(out, pem, pemlen, 0644, flags) != 0)
		goto out;
	if (chainout != NULL) {
		if (hm_signer_chain_pem(s, &chain, &chainlen, &err) != HM_OK) {
			fail(&err);
			goto out;
		}
		if ((all = malloc(pemlen + chainlen + 1)) == NULL) {
			failx("out of memory");
			goto out;
		}
		memcpy(all, pem, pemlen);
		memcpy(all + pemlen, chain, chainlen);
		if (write_out(chainout, all, pemlen + chainlen, 0644,
		    flags) != 0)
			goto out;
	}
	if (strcmp(out, "-") != 0) {
		hm_cert_subject(c, subj, sizeof(subj));
		printf("issued %s certificate %s for %s, valid until %s: %s\n",
		    hm_profile_name(req.profile), hm_cert_serial(c), subj,
		    fmt_time(hm_cert_not_after(c), buf), out);
	}
	rc = 0;
 out:
	if (wrote_key)
		unlink(newkey);
	hm_secret_free(pass);
	free(pem);
	free(chain);
	free(all);
	hm_cert_free(c);
	hm_csr_free(csr);
	hm_key_free(k);
	hm_signer_free(s);
	hm_ca_close(ca);
	hm_names_free(sans);
	return rc;
}
