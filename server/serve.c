/*
 * The HTTP front-end of hallmark serve: GET /crl/NAME, OCSP by POST /ocsp
 * and GET /ocsp/BASE64 (RFC 6960 appendix A, RFC 5019), enrollment by
 * POST /enroll (docs/PROTOCOL.md, section 1), on libevent's
 * evhttp with every limit set: body and header sizes, a read timeout and
 * a maximum of connections.  The answers come from lib (hm_responder).
 * POST /enroll is answered in batches: the event loop signs one while a
 * second thread, the store writer, commits the one before.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "cli.h"
#include "serve.h"

#define BODY_MAX	(16 * 1024)	/* OCSP requests are small */
#define HEADERS_MAX	(8 * 1024)	/* the request line counts too */
#define B64_MAX		((BODY_MAX + 2) / 3 * 4)
#define LOG_PATH_MAX	100
#define FD_SPARE	16		/* listener, event loop, SQLite */
#define FAIL_SLOTS	1024		/* sources remembered */
#define FAIL_MAX	20		/* failed enrollments a minute */
#define FAIL_WINDOW	60
/*
 * An enrollment batch is cut at once when the store's writer is idle,
 * else at ENROLL_BATCH requests or ENROLL_WAIT_US after the first: small
 * enough that one is signed while the last is committed; under more
 * load the next grows while both stages are busy.
 */
#define ENROLL_BATCH	8
#define ENROLL_WAIT_US	1000
#define ENROLL_PARK_MAX	256		/* parked at most, then 503 */
#define ENROLL_DRAIN	30		/* seconds for the writer, at most */
#define CHECKPOINT_MS	100		/* the checkpointer's period */

struct fail_slot {
	char		 peer[64];
	time_t		 since;
	unsigned	 n;
};

/* A POST /enroll waiting for its batch's transaction. */
struct parked {
	struct evhttp_request	*req;
	struct timespec		 t0;
	char			 peer[64];
};

/*
 * Requests of one batch; room for twice the cap, since the requests an
 * earlier batch leaves (one waiting for another's token) go first.
 */
struct batch {
	struct parked		 park[2 * ENROLL_PARK_MAX];
	hm_enroll_job		 jobs[2 * ENROLL_PARK_MAX];
	size_t			 n;
	hm_enroll_batch		*b;
};

/*
 * The thread that commits batches (hm_enroll_batch_commit) through its
 * own store connection while the event loop signs the next one; it says
 * a batch is done with a byte on a pipe.  It touches nothing else.  A
 * third thread, the checkpointer, copies the store's log into the
 * database meanwhile (hm_enroll_writer_checkpoint), so that no commit
 * stalls doing it.
 */
struct writer {
	pthread_t		 th, ckth;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv, ckcv;
	hm_enroll_writer	*w;
	hm_enroll_batch		*todo;
	int			 quit, running, ckrunning;
	int			 pipe[2];
	struct event		*done;
};

/*
 * A second thread that signs with the event loop: both take the requests
 * of a batch one at a time (hm_enroll_batch_sign).  The loop never waits
 * for it to wake: a batch it has not taken yet is taken back.
 */
struct cosigner {
	pthread_t		 th;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv, done;
	hm_enroll_batch		*b;
	int			 taken, quit, running;
};

struct server {
	struct event_base	*base;
	struct evhttp		*http[2];	/* HTTP, HTTPS */
	struct evconnlistener	*lst[2];
	SSL_CTX			*tls;
	hm_responder		*r;
	struct event		*resume;	/* accepting again */
	size_t			 max_conns;
	int			 paused;
	struct fail_slot	 fails[FAIL_SLOTS];
	/*
	 * Enrollment batches: col collects, ready is signed and waits for
	 * the writer, fly is the writer's; each a different one of bufs.
	 */
	struct batch		*bufs;
	struct batch		*col, *ready, *fly;
	int			 col_due;	/* its time is up */
	struct event		*flush;
	struct writer		 wr;
	struct cosigner		 co;
};

/* What a request handler decided, for the reply and the log line. */
struct reply {
	int			 status;
	const char		*reason;
	const char		*ctype;
	const char		*allow;		/* for 405 */
	const unsigned char	*body;
	size_t			 len;
	const char		*note;		/* for the log line */
};

/* libevent's own complaints, one line each, in our format. */
static void
ev_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		(void)failx("libevent: %s", msg);
}

int
serve_listen_parse(const char *s, struct serve_addr *o, char *why,
    size_t whylen)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	const char	*a, *p, *end;
	size_t		 alen, i;
	unsigned long	 port = 0;
	int		 v6 = s[0] == '[';

	if (v6) {
		a = s + 1;
		if ((end = strchr(a, ']')) == NULL || end[1] != ':') {
			snprintf(why, whylen, "want [IPV6]:PORT");
			return -1;
		}
		p = end + 2;
	} else {
		a = s;
		if ((end = strrchr(s, ':')) == NULL) {
			snprintf(why, whylen, "want ADDR:PORT");
			return -1;
		}
		p = end + 1;
	}
	alen = (size_t)(end - a);
	if (alen == 0 || alen >= sizeof(o->addr)) {
		snprintf(why, whylen, "no address or too long an address");
		return -1;
	}
	if (!v6 && memchr(a, ':', alen) != NULL) {
		snprintf(why, whylen, "an IPv6 address goes in brackets: "
		    "[ADDR]:PORT");
		return -1;
	}
	memcpy(o->addr, a, alen);
	o->addr[alen] = '\0';
	if ((v6 && inet_pton(AF_INET6, o->addr, &a6) != 1) ||
	    (!v6 && inet_pton(AF_INET, o->addr, &a4) != 1)) {
		snprintf(why, whylen, "'%s' is not a numeric IPv%d address",
		    o->addr, v6 ? 6 : 4);
		return -1;
	}
	for (i = 0; p[i] != '\0'; i++) {
		if (!isdigit((unsigned char)p[i]) || i >= 5) {
			snprintf(why, whylen, "bad port (want 0 to 65535)");
			return -1;
		}
		port = port * 10 + (unsigned long)(p[i] - '0');
	}
	if (i == 0 || port > 65535) {
		snprintf(why, whylen, "bad port (want 0 to 65535)");
		return -1;
	}
	o->port = (unsigned)port;
	return 0;
}

/*
 * evhttp in libevent 2.1 has no connection limit and tells nothing when
 * a connection closes, so the kernel counts for us: the open file limit
 * is set to the descriptors in use now, max_conns and a few spare (the
 * listener, the event loop, SQLite's files).  At the limit accept fails
 * with EMFILE; the listener then rests for a second instead of spinning,
 * and the kernel's backlog holds the connections waiting.
 */
static int
fd_limit(size_t conns)
{
	struct rlimit	rl;
	rlim_t		need;
	int		fd;

	if ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		(void)failx("/dev/null: %s", strerror(errno));
		return -1;
	}
	close(fd);
	/* Descriptors are handed out lowest first: fd is those in use. */
	need = (rlim_t)fd + (rlim_t)conns + FD_SPARE;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		(void)failx("getrlimit: %s", strerror(errno));
		return -1;
	}
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		(void)failx("--max-conns %zu needs %llu open files, the hard limit "
		    "is %llu: lower --max-conns or raise the limit", conns,
		    (unsigned long long)need, (unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
		(void)failx("setting the open file limit to %llu: %s",
		    (unsigned long long)need, strerror(errno));
		return -1;
	}
	return 0;
}

static void
accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct server	*sv = arg;
	int		 i;

	(void)fd;
	(void)what;
	sv->paused = 0;
	for (i = 0; i < 2; i++)
		if (sv->lst[i] != NULL)
			evconnlistener_enable(sv->lst[i]);
}

/*
 * The listener's argument is evhttp's, so the error callback finds the
 * server here: one server a process.
 */
static struct server	*accept_sv;

static void
accept_error(struct evconnlistener *lst, void *arg)
{
	struct server	*sv = accept_sv;
	struct timeval	 tv = { 1, 0 };
	int		 e = EVUTIL_SOCKET_ERROR();

	(void)arg;
	if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM) {
		(void)failx("accept: %s", strerror(e));
		return;
	}
	if (!sv->paused)
		(void)failx("accept: %s: %zu connections at most, not accepting for "
		    "a second", strerror(e), sv->max_conns);
	sv->paused = 1;
	evconnlistener_disable(lst);
	evtimer_add(sv->resume, &tv);
}

/* The path for the log: at most LOG_PATH_MAX bytes, escaped. */
static void
log_path(const char *p, char *out, size_t outlen)
{
	size_t	i, o = 0;

	for (i = 0; p[i] != '\0' && i < LOG_PATH_MAX && o + 5 < outlen; i++) {
		unsigned char	c = (unsigned char)p[i];

		if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"')
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x",
			    c);
		else
			out[o++] = (char)c;
	}
	if (p[i] != '\0' && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static void
send_reply(struct evhttp_request *req, const struct reply *rp,
    const struct timespec *t0)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct evbuffer		*b;
	struct timespec		 t1;
	struct tm		 tm;
	const char		*path = evhttp_request_get_uri(req), *m;
	char			*peer = NULL, when[32];
	char			 lp[LOG_PATH_MAX * 4 + 8];
	ev_uint16_t		 port = 0;
	time_t			 now = time(NULL);
	long			 ms;

	if (rp->ctype != NULL)
		evhttp_add_header(h, "Content-Type", rp->ctype);
	if (rp->allow != NULL)
		evhttp_add_header(h, "Allow", rp->allow);
	if ((b = evbuffer_new()) != NULL && rp->len > 0 &&
	    evbuffer_add(b, rp->body, rp->len) != 0) {
		evbuffer_free(b);
		b = NULL;
	}
	if (b == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &peer, &port);
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET: m = "GET"; break;
	case EVHTTP_REQ_POST: m = "POST"; break;
	default: m = "OTHER"; break;
	}
	log_path(path != NULL ? path : "", lp, sizeof(lp));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (long)(t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)now);
	fprintf(stderr, "%s %s %s \"%s\" %d %zu %ldms%s%s\n", when,
	    peer != NULL ? peer : "-", m, lp, rp->status, rp->len, ms,
	    rp->note != NULL && rp->note[0] != '\0' ? " " : "",
	    rp->note != NULL ? rp->note : "");
	evhttp_send_reply(req, rp->status, rp->reason, b);
	evbuffer_free(b);
}

static void
text(struct reply *rp, int status, const char *reason, const char *body)
{
	rp->status = status;
	rp->reason = reason;
	rp->ctype = "text/plain";
	rp->body = (const unsigned char *)body;
	rp->len = strlen(body);
}

static void
not_allowed(struct reply *rp, const char *allow)
{
	text(rp, 405, "Method Not Allowed", "method not allowed\n");
	rp->allow = allow;
}

static void
crl(struct server *sv, const char *name, struct reply *rp)
{
	static char		 why[HM_ERR_MSG_MAX + 2];
	const unsigned char	*der;
	size_t			 len, i, n = strlen(name);
	hm_err			 err;
	int			 rc;

	/* Only what can be a CA name reaches the library. */
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)name[i]) &&
		    !isdigit((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_' && name[i] != '.')
			break;
	if (n == 0 || n > HM_CA_NAME_MAX || i != n) {
		text(rp, 404, "Not Found", "no such CA\n");
		return;
	}
	if ((rc = hm_responder_crl(sv->r, name, &der, &len, &err)) ==
	    HM_E_NOTFOUND) {
		text(rp, 404, "Not Found", "no such CA\n");
		return;
	}
	/* An offline CA (no key here): its CRL is published elsewhere. */
	if (rc == HM_E_POLICY) {
		snprintf(why, sizeof(why), "%s\n", err.msg);
		text(rp, 404, "Not Found", why);
		return;
	}
	if (rc != HM_OK) {
		(void)failx("CRL of '%s': %s", name, err.msg);
		text(rp, 500, "Internal Server Error", "no CRL now\n");
		return;
	}
	rp->status = 200;
	rp->reason = "OK";
	rp->ctype = "application/pkix-crl";
	rp->body = der;
	rp->len = len;
}

/* The answer to the DER request req; *resp is the caller's to free. */
static void
ocsp(struct server *sv, const unsigned char *req, size_t len,
    unsigned char **resp, struct reply *rp)
{
	size_t	rlen;
	hm_err	err;

	if (hm_ocsp_respond(sv->r, req, len, resp, &rlen, &err) != HM_OK) {
		(void)failx("OCSP: %s", err.msg);
		text(rp, 500, "Internal Server Error", "no answer now\n");
		return;
	}
	/* RFC 6960: 200 whatever the OCSP status inside. */
	rp->status = 200;
	rp->reason = "OK";
	rp->ctype = "application/ocsp-response";
	rp->body = *resp;
	rp->len = rlen;
}

/*
 * The body of a POST of media type want, contiguous, at most BODY_MAX
 * bytes: 0, or -1 with rp set to the error to send.
 */
static int
post_body(struct evhttp_request *req, const char *want, struct reply *rp,
    unsigned char **body, size_t *len)
{
	static char	 why[96];
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	const char	*ct;
	size_t		 n;

	ct = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	n = ct == NULL ? 0 : strcspn(ct, "; \t");
	if (ct == NULL || n != strlen(want) ||
	    strncasecmp(ct, want, n) != 0) {
		snprintf(why, sizeof(why), "want Content-Type: %s\n", want);
		text(rp, 415, "Unsupported Media Type", why);
		return -1;
	}
	if ((*len = evbuffer_get_length(in)) > BODY_MAX) {
		text(rp, 413, "Payload Too Large", "request too large\n");
		return -1;
	}
	if ((*body = evbuffer_pullup(in, -1)) == NULL && *len > 0) {
		text(rp, 500, "Internal Server Error", "out of memory\n");
		return -1;
	}
	return 0;
}

static void
ocsp_post(struct server *sv, struct evhttp_request *req,
    unsigned char **resp, struct reply *rp)
{
	unsigned char	*body;
	size_t		 len;

	if (post_body(req, "application/ocsp-request", rp, &body, &len) == 0)
		ocsp(sv, body, len, resp, rp);
}

/*
 * Failures by source address over the last minute, in a table of fixed
 * size (the oldest entry gives way): a source over FAIL_MAX is answered
 * 429 before any work.  Bounded memory whatever the number of sources.
 */
static struct fail_slot *
fail_slot(struct server *sv, const char *peer, int create)
{
	struct fail_slot	*f, *old = &sv->fails[0];
	time_t			 now = time(NULL);
	size_t			 i;

	for (i = 0; i < FAIL_SLOTS; i++) {
		f = &sv->fails[i];
		if (f->n > 0 && now - f->since >= FAIL_WINDOW)
			f->n = 0;
		if (f->n > 0 && strcmp(f->peer, peer) == 0)
			return f;
		if (f->n == 0 || f->since < old->since)
			old = f;
	}
	if (!create)
		return NULL;
	snprintf(old->peer, sizeof(old->peer), "%s", peer);
	old->since = now;
	old->n = 0;
	return old;
}

/* The peer's address, or "-". */
static const char *
peer_of(struct evhttp_request *req)
{
	struct evhttp_connection	*evcon;
	char				*peer = NULL;
	ev_uint16_t			 port;

	if ((evcon = evhttp_request_get_connection(req)) != NULL)
		evhttp_connection_get_peer(evcon, &peer, &port);
	return peer != NULL ? peer : "-";
}

/* Too many failures from who lately: the 429 is set in rp. */
static int
limited(struct server *sv, const char *who, struct reply *rp)
{
	struct fail_slot	*f;

	if ((f = fail_slot(sv, who, 0)) != NULL && f->n >= FAIL_MAX) {
		text(rp, 429, "Too Many Requests", "too many failures; wait a "
		    "minute\n");
		return 1;
	}
	return 0;
}

static void
failed(struct server *sv, const char *who)
{
	struct fail_slot	*f;

	if ((f = fail_slot(sv, who, 1)) != NULL)
		f->n++;
}

/*
 * POST /renew, on the TLS listener only: the client's certificate (which
 * the handshake verified up to our root) renewed for the CSR's key.
 */
static void
renew_post(struct server *sv, struct evhttp_request *req,
    unsigned char **resp, struct reply *rp)
{
	static char			 note[HM_ERR_MSG_MAX + 32];
	static char			 why[HM_ERR_MSG_MAX + 2];
	struct evhttp_connection	*evcon = evhttp_request_get_connection(req);
	struct bufferevent		*bev;
	const char			*who = peer_of(req);
	unsigned char			*body, *der = NULL;
	X509				*peer;
	SSL				*ssl = NULL;
	size_t				 len, plen;
	char				*pem = NULL;
	hm_err				 err;
	int				 n, rc;

	if (limited(sv, who, rp))
		return;
	if (evcon != NULL &&
	    (bev = evhttp_connection_get_bufferevent(evcon)) != NULL)
		ssl = bufferevent_openssl_get_ssl(bev);
	if (ssl == NULL || (peer = SSL_get0_peer_certificate(ssl)) == NULL ||
	    SSL_get_verify_result(ssl) != X509_V_OK) {
		text(rp, 403, "Forbidden", ssl == NULL ? "renewal is over "
		    "mutual TLS only (the --tls-listen address)\n" :
		    "renewal needs the current certificate as the client's\n");
		failed(sv, who);
		return;
	}
	if (post_body(req, "application/pkcs10", rp, &body, &len) != 0)
		return;
	if ((n = i2d_X509(peer, &der)) <= 0) {
		text(rp, 500, "Internal Server Error", "out of memory\n");
		return;
	}
	rc = hm_renew(sv->r, der, (size_t)n, body, len, &pem, &plen, &err);
	OPENSSL_free(der);
	if (rc == HM_OK) {
		snprintf(note, sizeof(note), "renewed for %s", who);
		rp->note = note;
		rp->status = 200;
		rp->reason = "OK";
		rp->ctype = "application/pem-certificate-chain";
		rp->body = (unsigned char *)pem;
		rp->len = plen;
		*resp = (unsigned char *)pem;
		return;
	}
	snprintf(note, sizeof(note), "%s", err.msg);
	snprintf(why, sizeof(why), "%s\n", err.msg);
	if (rc == HM_E_POLICY || rc == HM_E_INVALID) {
		/* The client proved who it is: it may know why. */
		text(rp, rc == HM_E_POLICY ? 403 : 400, rc == HM_E_POLICY ?
		    "Forbidden" : "Bad Request", why);
		rp->note = note;
		failed(sv, who);
	} else {
		(void)failx("renew: %s", err.msg);
		text(rp, 500, "Internal Server Error", "no answer now\n");
	}
}

/* POST /pair, /pair/reveal, /pair/status (docs/PROTOCOL.md section 2). */
static void
pair_post(struct server *sv, struct evhttp_request *req, int what,
    unsigned char **resp, struct reply *rp)
{
	static char	 note[HM_ERR_MSG_MAX];
	const char	*who = peer_of(req);
	unsigned char	*body;
	size_t		 len, rlen;
	hm_err		 err;
	int		 http;

	if (limited(sv, who, rp) || post_body(req,
	    "application/x-hallmark-pair", rp, &body, &len) != 0)
		return;
	memset(&err, 0, sizeof(err));
	if (hm_pair_answer(sv->r, what, body, len, who, resp, &rlen, &http,
	    &err) != HM_OK) {
		(void)failx("pair: %s", err.msg);
		text(rp, 500, "Internal Server Error", "no answer now\n");
		return;
	}
	snprintf(note, sizeof(note), "%s", err.msg);
	rp->note = note;
	switch (http) {
	case 200:
		rp->status = 200;
		rp->reason = "OK";
		rp->ctype = "application/x-hallmark-pair";
		rp->body = *resp;
		rp->len = rlen;
		return;
	case 429:
		text(rp, 429, "Too Many Requests", "too many pairings open; "
		    "try later\n");
		return;
	case 404:
		text(rp, 404, "Not Found", "no such pairing\n");
		break;
	case 413:
		text(rp, 413, "Payload Too Large", "request too large\n");
		break;
	case 403:
		text(rp, 403, "Forbidden", "refused\n");
		break;
	default:
		text(rp, 400, "Bad Request", "not a pairing message\n");
		break;
	}
	failed(sv, who);
}

/* The reply to job j: the sealed reply, or the bare HTTP error. */
static void
enroll_reply(const hm_enroll_job *j, struct reply *rp)
{
	rp->note = j->err.msg;
	switch (j->http) {
	case 200:
		rp->status = 200;
		rp->reason = "OK";
		rp->ctype = "application/x-hallmark-enroll";
		rp->body = j->reply;
		rp->len = j->replylen;
		break;
	case 413:
		text(rp, 413, "Payload Too Large", "request too large\n");
		break;
	case 400:
		text(rp, 400, "Bad Request", "not an enrollment request\n");
		break;
	case 403:
		/* The one answer for an unknown token and a bad tag. */
		text(rp, 403, "Forbidden", "refused\n");
		break;
	default:
		text(rp, 500, "Internal Server Error", "no answer now\n");
		break;
	}
}

/* Send the answers of the jobs of bt that have one, from k on. */
static void
batch_send(struct server *sv, struct batch *bt, size_t k)
{
	struct reply	 rp;
	struct fail_slot *f;
	hm_enroll_job	*j;
	size_t		 i;

	for (i = k; i < bt->n; i++) {
		j = &bt->jobs[i];
		if (j->http == 0)
			continue;
		if (j->rc != HM_OK)
			(void)failx("enroll: %s", j->err.msg);
		memset(&rp, 0, sizeof(rp));
		enroll_reply(j, &rp);
		send_reply(bt->park[i].req, &rp, &bt->park[i].t0);
		free(j->reply);
		j->reply = NULL;
		if (j->http != 200 && j->http != 500 &&
		    (f = fail_slot(sv, bt->park[i].peer, 1)) != NULL)
			f->n++;
	}
}

/* Every job of bt answered 500 (no memory to do better). */
static void
batch_fail(struct server *sv, struct batch *bt, const hm_err *err)
{
	size_t	i;

	for (i = 0; i < bt->n; i++) {
		bt->jobs[i].http = 500;
		bt->jobs[i].rc = HM_E_NOMEM;
		bt->jobs[i].err = *err;
	}
	batch_send(sv, bt, 0);
	bt->n = 0;
}

static void *
writer_main(void *arg)
{
	struct writer	*wr = arg;
	hm_enroll_batch	*b;
	char		 c = 'x';

	for (;;) {
		pthread_mutex_lock(&wr->mu);
		while (wr->todo == NULL && !wr->quit)
			pthread_cond_wait(&wr->cv, &wr->mu);
		b = wr->todo;
		pthread_mutex_unlock(&wr->mu);
		if (b == NULL)
			break;
		hm_enroll_batch_commit(b, wr->w);
		pthread_mutex_lock(&wr->mu);
		wr->todo = NULL;
		pthread_mutex_unlock(&wr->mu);
		/* One byte a batch, at most one batch out: never blocks. */
		while (write(wr->pipe[1], &c, 1) == -1 && errno == EINTR)
			;
	}
	return NULL;
}

static void *
checkpointer_main(void *arg)
{
	struct writer	*wr = arg;
	struct timespec	 ts;
	hm_err		 err;

	pthread_mutex_lock(&wr->mu);
	while (!wr->quit) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += CHECKPOINT_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		if (pthread_cond_timedwait(&wr->ckcv, &wr->mu, &ts) != ETIMEDOUT)
			continue;
		pthread_mutex_unlock(&wr->mu);
		/* The commits do it past their backstop: nothing is lost. */
		if (hm_enroll_writer_checkpoint(wr->w, &err) != HM_OK)
			(void)failx("checkpoint: %s", err.msg);
		pthread_mutex_lock(&wr->mu);
	}
	pthread_mutex_unlock(&wr->mu);
	return NULL;
}

/* The ready batch to the writer. */
static void
launch(struct server *sv)
{
	sv->fly = sv->ready;
	sv->ready = NULL;
	pthread_mutex_lock(&sv->wr.mu);
	sv->wr.todo = sv->fly->b;
	pthread_cond_signal(&sv->wr.cv);
	pthread_mutex_unlock(&sv->wr.mu);
}

/* The one of bufs that is neither col, ready nor fly. */
static struct batch *
free_buf(struct server *sv)
{
	int	i;

	for (i = 0; i < 3; i++)
		if (&sv->bufs[i] != sv->col && &sv->bufs[i] != sv->ready &&
		    &sv->bufs[i] != sv->fly)
			return &sv->bufs[i];
	return NULL;	/* not reached: three buffers, three roles */
}

static void *
cosigner_main(void *arg)
{
	struct cosigner	*co = arg;
	hm_enroll_batch	*b;

	pthread_mutex_lock(&co->mu);
	for (;;) {
		while (co->b == NULL && !co->quit)
			pthread_cond_wait(&co->cv, &co->mu);
		if (co->quit)
			break;
		b = co->b;
		co->taken = 1;
		pthread_mutex_unlock(&co->mu);
		hm_enroll_batch_sign(b);
		pthread_mutex_lock(&co->mu);
		co->b = NULL;
		co->taken = 0;
		pthread_cond_signal(&co->done);
	}
	pthread_mutex_unlock(&co->mu);
	return NULL;
}

/* Sign b here and on the cosigner; b is whole when this returns. */
static void
cosign(struct cosigner *co, hm_enroll_batch *b, size_t n)
{
	if (co->running && n > 1) {
		pthread_mutex_lock(&co->mu);
		co->b = b;
		pthread_cond_signal(&co->cv);
		pthread_mutex_unlock(&co->mu);
	}
	hm_enroll_batch_sign(b);
	if (!co->running || n <= 1)
		return;
	pthread_mutex_lock(&co->mu);
	if (!co->taken)
		co->b = NULL;
	while (co->b != NULL)
		pthread_cond_wait(&co->done, &co->mu);
	pthread_mutex_unlock(&co->mu);
}

/*
 * Cut the collected requests into a batch: open, check, sign and seal
 * them here (the answers that need no transaction go out with the
 * batch's), then to the writer, or to wait for it.  With one batch
 * already waiting, col waits too (bounded: enroll_post answers 503 past
 * ENROLL_PARK_MAX).
 */
static void
cut(struct server *sv)
{
	struct batch	*bt = sv->col;
	hm_err		 err;

	if (bt->n == 0 || sv->ready != NULL)
		return;
	evtimer_del(sv->flush);
	sv->col_due = 0;
	memset(&err, 0, sizeof(err));
	if (hm_enroll_batch_open(sv->r, bt->jobs, bt->n, &bt->b, &err) !=
	    HM_OK) {
		(void)failx("enroll: %s", err.msg);
		batch_fail(sv, bt, &err);
		return;
	}
	cosign(&sv->co, bt->b, bt->n);
	sv->ready = bt;
	sv->col = free_buf(sv);
	sv->col->n = 0;
	if (sv->fly == NULL)
		launch(sv);
}

/*
 * The writer committed fly: answer its jobs, put those left (waiting
 * for an earlier one's token) before what col holds, and go on.
 */
static void
fly_done(struct server *sv)
{
	struct batch	*bt = sv->fly, *col = sv->col;
	size_t		 i, left = 0, k;
	hm_err		 err;

	memset(&err, 0, sizeof(err));
	if (hm_enroll_batch_finish(bt->b, &left, &err) != HM_OK) {
		(void)failx("enroll: %s", err.msg);
		bt->b = NULL;
		batch_fail(sv, bt, &err);
		left = 0;
	}
	bt->b = NULL;
	sv->fly = NULL;
	batch_send(sv, bt, 0);
	if (left > 0) {
		memmove(col->park + left, col->park, col->n *
		    sizeof(col->park[0]));
		memmove(col->jobs + left, col->jobs, col->n *
		    sizeof(col->jobs[0]));
		for (i = k = 0; i < bt->n && k < left; i++)
			if (bt->jobs[i].http == 0) {
				col->park[k] = bt->park[i];
				col->jobs[k] = bt->jobs[i];
				k++;
			}
		col->n += left;
		sv->col_due = 1;
	}
	bt->n = 0;
	if (sv->ready != NULL)
		launch(sv);
	if (sv->col_due || sv->col->n >= ENROLL_BATCH)
		cut(sv);
}

static void
writer_done(evutil_socket_t fd, short what, void *arg)
{
	struct server	*sv = arg;
	char		 buf[8];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	if (sv->fly != NULL)
		fly_done(sv);
}

static void
enroll_timer(evutil_socket_t fd, short what, void *arg)
{
	struct server	*sv = arg;

	(void)fd;
	(void)what;
	sv->col_due = 1;
	cut(sv);
}

/*
 * Answer everything parked, signed or in the writer's hands, waiting
 * for the writer (shutting down): bounded by ENROLL_DRAIN a batch.
 */
static void
enroll_drain(struct server *sv)
{
	struct pollfd	pfd;
	int		i;

	if (!sv->wr.running)
		return;
	for (i = 0; i < 1000 && (sv->fly != NULL || sv->ready != NULL ||
	    sv->col->n > 0); i++) {
		if (sv->fly == NULL) {
			cut(sv);
			continue;
		}
		pfd.fd = sv->wr.pipe[0];
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ENROLL_DRAIN * 1000) <= 0) {
			(void)failx("enroll: the store's writer is stuck");
			return;
		}
		writer_done(sv->wr.pipe[0], EV_READ, sv);
	}
}

/* Without it, the loop signs alone. */
static void
cosigner_start(struct cosigner *co)
{
	if (pthread_mutex_init(&co->mu, NULL) != 0)
		return;
	if (pthread_cond_init(&co->cv, NULL) != 0 ||
	    pthread_cond_init(&co->done, NULL) != 0 ||
	    pthread_create(&co->th, NULL, cosigner_main, co) != 0) {
		(void)failx("no second signing thread: signing on one");
		return;
	}
	/* Names for top -H, ps -L and the benchmarks' placement. */
	(void)pthread_setname_np(co->th, "hm-cosigner");
	co->running = 1;
}

static void
cosigner_stop(struct cosigner *co)
{
	if (!co->running)
		return;
	pthread_mutex_lock(&co->mu);
	co->quit = 1;
	pthread_cond_signal(&co->cv);
	pthread_mutex_unlock(&co->mu);
	pthread_join(co->th, NULL);
	pthread_cond_destroy(&co->cv);
	pthread_cond_destroy(&co->done);
	pthread_mutex_destroy(&co->mu);
	co->running = 0;
}

static int
writer_start(struct server *sv)
{
	struct writer		*wr = &sv->wr;
	pthread_condattr_t	 ca;
	hm_err			 err;

	if (hm_enroll_writer_new(sv->r, &wr->w, &err) != HM_OK) {
		(void)failx("enroll: %s", err.msg);
		return -1;
	}
	if (pipe2(wr->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		(void)failx("pipe: %s", strerror(errno));
		return -1;
	}
	if (pthread_mutex_init(&wr->mu, NULL) != 0 ||
	    pthread_cond_init(&wr->cv, NULL) != 0 ||
	    pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&wr->ckcv, &ca) != 0 ||
	    pthread_create(&wr->th, NULL, writer_main, wr) != 0) {
		(void)failx("cannot start the store's writer");
		return -1;
	}
	wr->running = 1;
	(void)pthread_setname_np(wr->th, "hm-writer");
	if (pthread_create(&wr->ckth, NULL, checkpointer_main, wr) != 0) {
		(void)failx("cannot start the store's checkpointer");
		return -1;
	}
	(void)pthread_setname_np(wr->ckth, "hm-checkpoint");
	wr->ckrunning = 1;
	return 0;
}

static void
writer_stop(struct server *sv)
{
	struct writer	*wr = &sv->wr;

	if (wr->running) {
		enroll_drain(sv);
		pthread_mutex_lock(&wr->mu);
		wr->quit = 1;
		pthread_cond_signal(&wr->cv);
		pthread_cond_signal(&wr->ckcv);
		pthread_mutex_unlock(&wr->mu);
		pthread_join(wr->th, NULL);
		if (wr->ckrunning)
			pthread_join(wr->ckth, NULL);
		pthread_cond_destroy(&wr->cv);
		pthread_cond_destroy(&wr->ckcv);
		pthread_mutex_destroy(&wr->mu);
		wr->running = wr->ckrunning = 0;
	}
	if (wr->done != NULL)
		event_free(wr->done);
	wr->done = NULL;
	if (wr->pipe[0] > 0) {
		close(wr->pipe[0]);
		close(wr->pipe[1]);
	}
	hm_enroll_writer_free(wr->w);
	wr->w = NULL;
}

/*
 * POST /enroll: 0 when the request is parked for a batch (its reply
 * comes from fly_done), -1 with rp set to send now.
 */
static int
enroll_post(struct server *sv, struct evhttp_request *req,
    const struct timespec *t0, struct reply *rp)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct timeval		 tv = { 0, ENROLL_WAIT_US };
	struct batch		*col = sv->col;
	struct fail_slot	*f;
	struct parked		*pk;
	unsigned char		*body;
	size_t			 len;
	char			*peer = NULL;
	ev_uint16_t		 port;

	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &peer, &port);
	if ((f = fail_slot(sv, peer != NULL ? peer : "-", 0)) != NULL &&
	    f->n >= FAIL_MAX) {
		text(rp, 429, "Too Many Requests", "too many failures; wait a "
		    "minute\n");
		return -1;
	}
	if (post_body(req, "application/x-hallmark-enroll", rp, &body,
	    &len) != 0)
		return -1;
	if (col->n >= ENROLL_PARK_MAX) {
		text(rp, 503, "Service Unavailable", "busy; try again\n");
		return -1;
	}
	/* The body stays in req's input buffer until the reply. */
	pk = &col->park[col->n];
	pk->req = req;
	pk->t0 = *t0;
	snprintf(pk->peer, sizeof(pk->peer), "%s", peer != NULL ? peer : "-");
	memset(&col->jobs[col->n], 0, sizeof(col->jobs[0]));
	col->jobs[col->n].req = body;
	col->jobs[col->n].len = len;
	/* An idle writer: no reason to wait. */
	if (++col->n >= ENROLL_BATCH || (sv->fly == NULL &&
	    sv->ready == NULL)) {
		sv->col_due = 1;
		cut(sv);
	} else if (col->n == 1)
		evtimer_add(sv->flush, &tv);
	return 0;
}

/* GET /ocsp/ + the URL-encoded base64 of the DER request. */
static void
ocsp_get(struct server *sv, const char *enc, unsigned char **resp,
    struct reply *rp)
{
	unsigned char	*der = NULL;
	char		*dec = NULL, *b64 = NULL;
	size_t		 n, pad = 0;
	int		 len;

	if (strlen(enc) > B64_MAX * 3 ||
	    (dec = evhttp_uridecode(enc, 0, &n)) == NULL) {
		text(rp, 400, "Bad Request", "bad request\n");
		goto out;
	}
	while (n > 0 && pad < 2 && dec[n - 1] == '=') {
		pad++;
		n--;
	}
	if (n == 0 || n > B64_MAX || n % 4 == 1 ||
	    memchr(dec, '=', n) != NULL) {
		text(rp, 400, "Bad Request", "bad base64\n");
		goto out;
	}
	/* Padding is optional here: put it back for the decoder. */
	pad = (4 - n % 4) % 4;
	if ((b64 = malloc(n + pad + 1)) == NULL ||
	    (der = malloc((n + pad) / 4 * 3)) == NULL) {
		text(rp, 500, "Internal Server Error", "out of memory\n");
		goto out;
	}
	memcpy(b64, dec, n);
	memset(b64 + n, '=', pad);
	b64[n + pad] = '\0';
	if ((len = EVP_DecodeBlock(der, (unsigned char *)b64, (int)(n + pad)))
	    < 0 || (size_t)len < pad) {
		text(rp, 400, "Bad Request", "bad base64\n");
		goto out;
	}
	ocsp(sv, der, (size_t)len - pad, resp, rp);
 out:
	free(der);
	free(b64);
	free(dec);
}

static void
handle(struct evhttp_request *req, void *arg)
{
	struct server		*sv = arg;
	struct reply		 rp;
	struct timespec		 t0;
	const struct evhttp_uri	*u = evhttp_request_get_evhttp_uri(req);
	const char		*path;
	unsigned char		*resp = NULL;
	int			 get, post;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	path = u != NULL ? evhttp_uri_get_path(u) : NULL;
	memset(&rp, 0, sizeof(rp));
	get = evhttp_request_get_command(req) == EVHTTP_REQ_GET;
	post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
	if (path == NULL)
		text(&rp, 400, "Bad Request", "bad request\n");
	else if (strncmp(path, "/crl/", 5) == 0) {
		if (get)
			crl(sv, path + 5, &rp);
		else
			not_allowed(&rp, "GET");
	} else if (strcmp(path, "/ocsp") == 0) {
		if (post)
			ocsp_post(sv, req, &resp, &rp);
		else
			not_allowed(&rp, "POST");
	} else if (strcmp(path, "/pair") == 0 ||
	    strcmp(path, "/pair/reveal") == 0 ||
	    strcmp(path, "/pair/status") == 0) {
		if (post)
			pair_post(sv, req, path[5] == '\0' ? HM_PAIR_MSG_COMMIT :
			    path[6] == 'r' ? HM_PAIR_MSG_REVEAL :
			    HM_PAIR_MSG_STATUS, &resp, &rp);
		else
			not_allowed(&rp, "POST");
	} else if (strcmp(path, "/renew") == 0) {
		if (post)
			renew_post(sv, req, &resp, &rp);
		else
			not_allowed(&rp, "POST");
	} else if (strcmp(path, "/enroll") == 0) {
		if (!post)
			not_allowed(&rp, "POST");
		else if (enroll_post(sv, req, &t0, &rp) == 0)
			return;		/* answered with its batch */
	} else if (strncmp(path, "/ocsp/", 6) == 0) {
		if (get)
			ocsp_get(sv, path + 6, &resp, &rp);
		else
			not_allowed(&rp, "GET");
	} else
		text(&rp, 404, "Not Found", "not found\n");
	send_reply(req, &rp, &t0);
	free(resp);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server	*sv = arg;

	(void)what;
	(void)failx("%s: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	enroll_drain(sv);
	event_base_loopexit(sv->base, NULL);
}

/*
 * A TLS connection of the HTTPS listener.  Should this fail (no memory),
 * evhttp 2.1 would make a plain one instead: handlers that need the peer's
 * certificate find no SSL on it and refuse.
 */
static struct bufferevent *
tls_bev(struct event_base *base, void *arg)
{
	struct server		*sv = arg;
	struct bufferevent	*bev;
	SSL			*ssl;

	if ((ssl = SSL_new(sv->tls)) == NULL)
		return NULL;
	if ((bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	/* A client that closes without close_notify has still been served. */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* An evhttp with every limit, answering with handle. */
static struct evhttp *
http_new(struct server *sv, int timeout)
{
	struct evhttp	*h;
	struct timeval	 tv;

	if ((h = evhttp_new(sv->base)) == NULL)
		return NULL;
	tv.tv_sec = timeout;
	tv.tv_usec = 0;
	evhttp_set_max_body_size(h, BODY_MAX);
	evhttp_set_max_headers_size(h, HEADERS_MAX);
	evhttp_set_timeout_tv(h, &tv);
	evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	/* Read what is left of a refused request: the client sees a 413. */
	evhttp_set_flags(h, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_gencb(h, handle, sv);
	return h;
}

/* Bind h to a, say where on stdout, keep its listener in *lst. */
static int
bind_http(struct evhttp *h, const struct serve_addr *a, const char *scheme,
    struct evconnlistener **lst)
{
	struct evhttp_bound_socket	*bs;
	struct sockaddr_storage		 ss;
	socklen_t			 sl = sizeof(ss);
	unsigned			 port;
	int				 v6 = strchr(a->addr, ':') != NULL;

	if ((bs = evhttp_bind_socket_with_handle(h, a->addr,
	    (ev_uint16_t)a->port)) == NULL) {
		(void)failx("cannot listen on %s%s%s%s:%u", scheme,
		    v6 ? "[" : "", a->addr, v6 ? "]" : "", a->port);
		return -1;
	}
	*lst = evhttp_bound_socket_get_listener(bs);
	evconnlistener_set_error_cb(*lst, accept_error);
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
	    &sl) == -1) {
		(void)failx("getsockname: %s", strerror(errno));
		return -1;
	}
	port = ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
	printf("listening on %s%s%s%s:%u\n", scheme, v6 ? "[" : "", a->addr,
	    v6 ? "]" : "", port);
	fflush(stdout);
	return 0;
}

int
serve_run(hm_responder *r, const struct serve_opts *o)
{
	struct sigaction		 sa;
	struct server			 sv;
	struct event			*sigterm = NULL, *sigint = NULL;
	int				 rc = 1, i;

	memset(&sv, 0, sizeof(sv));
	sv.r = r;
	sv.tls = o->tls;
	sv.max_conns = o->max_conns;
	sv.wr.pipe[0] = sv.wr.pipe[1] = -1;
	/* Before fd_limit counts the descriptors in use. */
	if ((sv.bufs = calloc(3, sizeof(*sv.bufs))) == NULL) {
		(void)failx("out of memory");
		return 1;
	}
	sv.col = &sv.bufs[0];
	if (writer_start(&sv) != 0 || fd_limit(o->max_conns) != 0)
		goto out;
	cosigner_start(&sv.co);
	/* A peer gone mid-reply is an error to handle, not a death. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	event_set_log_callback(ev_log);
	if ((sv.base = event_base_new()) == NULL ||
	    (sv.http[0] = http_new(&sv, o->timeout)) == NULL ||
	    (sv.tls != NULL && (sv.http[1] = http_new(&sv, o->timeout)) ==
	    NULL) ||
	    (sv.resume = evtimer_new(sv.base, accept_resume, &sv)) == NULL ||
	    (sv.flush = evtimer_new(sv.base, enroll_timer, &sv)) == NULL ||
	    (sv.wr.done = event_new(sv.base, sv.wr.pipe[0],
	    EV_READ | EV_PERSIST, writer_done, &sv)) == NULL ||
	    event_add(sv.wr.done, NULL) != 0) {
		(void)failx("cannot set up the event loop");
		goto out;
	}
	if (sv.tls != NULL)
		evhttp_set_bevcb(sv.http[1], tls_bev, &sv);
	if ((sigterm = evsignal_new(sv.base, SIGTERM, on_signal, &sv)) ==
	    NULL || (sigint = evsignal_new(sv.base, SIGINT, on_signal, &sv)) ==
	    NULL || evsignal_add(sigterm, NULL) != 0 ||
	    evsignal_add(sigint, NULL) != 0) {
		(void)failx("cannot catch SIGTERM and SIGINT");
		goto out;
	}
	accept_sv = &sv;
	/* HTTPS first: "listening on ADDR:PORT" last says all is bound. */
	if ((sv.tls != NULL && bind_http(sv.http[1], &o->tls_listen,
	    "https://", &sv.lst[1]) != 0) ||
	    bind_http(sv.http[0], &o->listen, "", &sv.lst[0]) != 0)
		goto out;
	if (event_base_dispatch(sv.base) == -1) {
		(void)failx("the event loop failed");
		goto out;
	}
	rc = 0;
 out:
	accept_sv = NULL;
	writer_stop(&sv);
	cosigner_stop(&sv.co);
	if (sv.flush != NULL)
		event_free(sv.flush);
	free(sv.bufs);
	if (sv.resume != NULL)
		event_free(sv.resume);
	if (sigterm != NULL)
		event_free(sigterm);
	if (sigint != NULL)
		event_free(sigint);
	for (i = 0; i < 2; i++)
		if (sv.http[i] != NULL)
			evhttp_free(sv.http[i]);
	if (sv.base != NULL)
		event_base_free(sv.base);
	libevent_global_shutdown();
	return rc;
}
