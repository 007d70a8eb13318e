/*
 * The HTTP client of the verbs that talk to hallmark serve (enroll,
 * renew, agent): libcurl, bounded in size and time, http and https only,
 * no redirects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli.h"

#define TRIES		3
#define CONNECT_SECS	10
#define TOTAL_SECS	30

static size_t
body_write(char *p, size_t size, size_t n, void *arg)
{
	struct http_body	*b = arg;
	size_t			 len = size * n;

	if (len > HM_ENROLL_MAX - b->len) {
		b->toobig = 1;
		return 0;
	}
	memcpy(b->buf + b->len, p, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return len;
}

/*
 * POST the request to base + path; retries after network failures send
 * the same bytes.
 */
int
http_post(const char *base, const char *path, const struct http_opts *o,
    const char *ctype, const unsigned char *req, size_t len,
    struct http_body *b, long *status)
{
	struct curl_slist	*h = NULL;
	CURL			*c;
	CURLcode		 cc = CURLE_OK;
	char			 hdr[96], url[1100];
	char			 why[CURL_ERROR_SIZE];
	size_t			 n = strlen(base);
	int			 try, rc = -1;
	int			 https = strncmp(base, "https://", 8) == 0;

	/* base has no trailing slash: the caller took it off. */
	snprintf(url, sizeof(url), "%.*s%s", (int)n, base, path);
	snprintf(hdr, sizeof(hdr), "Content-Type: %s", ctype);
	if ((c = curl_easy_init()) == NULL ||
	    (h = curl_slist_append(NULL, hdr)) == NULL) {
		rc = failx("out of memory");
		goto out;
	}
	why[0] = '\0';
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, why);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)CONNECT_SECS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)TOTAL_SECS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	if (o->cacert != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->cacert);
	/* Mutual TLS: the client's certificate (and its CAs) and key. */
	if (o->cert != NULL) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, o->cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, o->key);
		if (o->keypass != NULL)
			curl_easy_setopt(c, CURLOPT_KEYPASSWD, o->keypass);
	}
	for (try = 0; try < TRIES; try++) {
		if (try > 0) {
			fprintf(stderr, "hallmark: %s: %s; trying again in "
			    "%d s\n", url, curl_easy_strerror(cc), 1 << try);
			sleep(1U << try);
		}
		b->len = 0;
		b->toobig = 0;
		cc = curl_easy_perform(c);
		/*
		 * Over TLS a failed send or receive is usually the peer's
		 * refusal of our certificate (TLS 1.3 says so after the
		 * handshake): no use trying again.
		 */
		if (cc != CURLE_COULDNT_CONNECT &&
		    cc != CURLE_OPERATION_TIMEDOUT && (https ||
		    (cc != CURLE_RECV_ERROR && cc != CURLE_SEND_ERROR &&
		    cc != CURLE_GOT_NOTHING)))
			break;
	}
	if (b->toobig) {
		rc = failx("%s: the reply is over %d bytes", url,
		    HM_ENROLL_MAX);
		goto out;
	}
	if (cc != CURLE_OK && https && o->cert != NULL &&
	    cc != CURLE_COULDNT_CONNECT && cc != CURLE_OPERATION_TIMEDOUT &&
	    cc != CURLE_PEER_FAILED_VERIFICATION) {
		rc = failx("%s: the server ended the TLS connection: it does not "
		    "take %s (expired, or not from its CA?) (%s)", url, o->cert,
		    why[0] != '\0' ? why : curl_easy_strerror(cc));
		goto out;
	}
	if (cc != CURLE_OK) {
		rc = failx("%s: %s", url, why[0] != '\0' ? why :
		    curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	rc = 0;
 out:
	curl_slist_free_all(h);
	if (c != NULL)
		curl_easy_cleanup(c);
	return rc;
}

