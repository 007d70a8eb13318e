/*
 * enroll-tool: the client's side of docs/PROTOCOL.md section 1 as files,
 * so that the integration tests can send, replay, swap and alter the
 * bytes themselves.
 *
 *   enroll-tool request TOKEN REQ KEY [CN [SAN...]]
 *	a new P-256 key (written to KEY) and a sealed request (to REQ)
 *   enroll-tool open TOKEN REQ REPLY
 *	open REPLY as the answer to REQ: prints "issued SERIAL" (exit 0),
 *	"refused CODE" (exit 1); exit 2 when it does not open (not made for
 *	REQ under TOKEN), 3 when it is malformed
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "internal.h"

static int
die(const hm_err *err)
{
	fprintf(stderr, "enroll-tool: %s\n", err->msg);
	return 4;
}

static int
request(int argc, char **argv)
{
	hm_key		*k = NULL;
	hm_csr		*csr = NULL;
	hm_names	*sans = hm_names_new();
	hm_enroll	*e = NULL;
	hm_err		 err;
	const unsigned char *req;
	size_t		 len;
	int		 i;

	for (i = 5; i < argc; i++)
		if (hm_names_add(sans, argv[i], &err) != HM_OK)
			return die(&err);
	if (hm_key_generate(HM_KEY_P256, &k, &err) != HM_OK ||
	    hm_csr_new_any(k, argc > 4 ? argv[4] : NULL, sans, &csr,
	    &err) != HM_OK ||
	    hm_enroll_new(argv[1], csr, &e, &err) != HM_OK)
		return die(&err);
	req = hm_enroll_request(e, &len);
	if (hm_file_write(argv[2], req, len, 0644, HM_F_FORCE, &err) !=
	    HM_OK || hm_key_save(k, argv[3], NULL, HM_F_FORCE, &err) != HM_OK)
		return die(&err);
	hm_enroll_free(e);
	hm_csr_free(csr);
	hm_key_free(k);
	hm_names_free(sans);
	return 0;
}

static int
open_reply(char **argv)
{
	struct hm_enroll_req	 h;
	struct hm_enroll_reply	 r;
	unsigned char		 id[HM_PSK_ID_LEN], psk[HM_PSK_LEN];
	unsigned char		 hash[HM_ENROLL_HASH_LEN], *req = NULL;
	unsigned char		*rep = NULL;
	const unsigned char	*p;
	size_t			 reqlen, replen;
	char			 serial[41];
	X509			*x = NULL;
	hm_err			 err;
	int			 rc, ret;

	memset(&r, 0, sizeof(r));
	if (hm_token_parse(argv[1], id, psk, &err) != HM_OK ||
	    hm_file_read(argv[2], HM_ENROLL_MAX, &req, &reqlen, &err) !=
	    HM_OK ||
	    hm_file_read(argv[3], HM_ENROLL_MAX + 1, &rep, &replen, &err) !=
	    HM_OK ||
	    hm_enroll_req_parse(req, reqlen, &h, &err) != HM_OK ||
	    hm_enroll_hash(req, reqlen, hash, &err) != HM_OK) {
		ret = die(&err);
		goto out;
	}
	rc = hm_enroll_rep_open(psk, id, h.nonce_c, hash, rep, replen, &r,
	    &err);
	if (rc == HM_E_SIGNATURE) {
		printf("does not open: %s\n", err.msg);
		ret = 2;
		goto out;
	}
	if (rc != HM_OK) {
		printf("malformed: %s\n", err.msg);
		ret = 3;
		goto out;
	}
	if (r.status != HM_ENROLL_ISSUED) {
		printf("refused %u %s\n", r.code, r.msg);
		ret = 1;
		goto out;
	}
	p = r.cert.v;
	if ((x = d2i_X509(NULL, &p, (long)r.cert.len)) == NULL ||
	    hm_x509_serial_hex(x, serial) == -1) {
		printf("malformed: the certificate\n");
		ret = 3;
		goto out;
	}
	printf("issued %s\n", serial);
	ret = 0;
 out:
	X509_free(x);
	hm_enroll_reply_clear(&r);
	free(req);
	free(rep);
	return ret;
}

int
main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "request") == 0)
		return request(argc - 1, argv + 1);
	if (argc == 5 && strcmp(argv[1], "open") == 0)
		return open_reply(argv + 1);
	fprintf(stderr, "usage: enroll-tool request TOKEN REQ KEY [CN "
	    "[SAN...]] | open TOKEN REQ REPLY\n");
	return 4;
}
