/*
 * pair-tool: the cryptography of a pairing (docs/PROTOCOL.md section 2)
 * as a program, so that a test can play a man in the middle with the
 * messages built in the shell or Python.
 *
 *   pair-tool keygen SK            a fresh X25519 key: the private key's
 *                                  32 bytes to file SK; prints pk in hex
 *   pair-tool commitment PK NONCE  prints SHA-256 of the commitment (hex
 *                                  in, hex out)
 *   pair-tool derive SK PEERPK COMMIT ACCEPT REVEAL
 *                                  prints the 6-digit code of the pairing
 *                                  those three bodies (files) made
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int
unhex(const char *s, unsigned char *out, size_t n)
{
	size_t		i;
	unsigned	b;

	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (unsigned char)b;
	}
	return 0;
}

static void
puthex(const unsigned char *b, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

int
main(int argc, char **argv)
{
	struct hm_pair_out	 o;
	unsigned char		 sk[HM_X25519_LEN], pk[HM_X25519_LEN];
	unsigned char		 nonce[HM_PAIR_NONCE_LEN], md[32];
	unsigned char		*body[3] = { NULL, NULL, NULL }, *s = NULL;
	size_t			 len[3], slen;
	hm_err			 err;
	int			 i, rc = 1;

	if (argc == 3 && strcmp(argv[1], "keygen") == 0) {
		if (hm_pair_keygen(sk, pk, &err) != HM_OK ||
		    hm_file_write(argv[2], sk, sizeof(sk), 0600, HM_F_FORCE,
		    &err) != HM_OK)
			goto fail;
		puthex(pk, sizeof(pk));
		rc = 0;
	} else if (argc == 4 && strcmp(argv[1], "commitment") == 0) {
		if (unhex(argv[2], pk, sizeof(pk)) == -1 ||
		    unhex(argv[3], nonce, sizeof(nonce)) == -1) {
			fprintf(stderr, "pair-tool: bad hex\n");
			return 1;
		}
		if (hm_pair_commitment(pk, nonce, md, &err) != HM_OK)
			goto fail;
		puthex(md, sizeof(md));
		rc = 0;
	} else if (argc == 7 && strcmp(argv[1], "derive") == 0) {
		if (hm_file_read(argv[2], HM_X25519_LEN, &s, &slen, &err) !=
		    HM_OK)
			goto fail;
		if (slen != HM_X25519_LEN || unhex(argv[3], pk, sizeof(pk)) ==
		    -1) {
			fprintf(stderr, "pair-tool: bad key\n");
			goto out;
		}
		for (i = 0; i < 3; i++)
			if (hm_file_read(argv[4 + i], HM_PAIR_MAX, &body[i],
			    &len[i], &err) != HM_OK)
				goto fail;
		if (hm_pair_derive(s, pk, body[0], len[0], body[1], len[1],
		    body[2], len[2], &o, &err) != HM_OK)
			goto fail;
		printf("%s\n", o.sas);
		rc = 0;
	} else
		fprintf(stderr, "usage: pair-tool keygen SK | commitment PK "
		    "NONCE | derive SK PEERPK COMMIT ACCEPT REVEAL\n");
	goto out;
 fail:
	fprintf(stderr, "pair-tool: %s\n", err.msg);
 out:
	for (i = 0; i < 3; i++)
		free(body[i]);
	free(s);
	return rc;
}
