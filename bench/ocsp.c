/*
 * bench/ocsp: OCSP responses per second of a real `hallmark serve` over
 * HTTP, next to the signature rate of the responder's own key, all
 * measured in this one run:
 *   (a) signatures per second of the CA key with its prepared signing
 *       context, copied per signature as lib/ocsp.c does, over a message
 *       the size of the server's tbsResponseData: the limit of a
 *       single-threaded responder that signs every answer;
 *   (b) responses per second of `hallmark serve` to CLIENTS threads, each
 *       on one HTTP/1.1 keep-alive connection posting to /ocsp, and the
 *       ratio to (a);
 *   (c) hm_ocsp_respond in process, one thread: the library without HTTP
 *       and the event loop, to tell where (b) loses to (a).
 * The server, (a) and (c) run on one core and the client threads on the
 * other (when there are two): the server is single-threaded, so (b) is
 * compared with one core's signing rate.
 *
 * (a), (b) and (c) are measured in interleaved slices of SLICE seconds
 * rather than a reference taken before and after: on a shared VM the
 * speed drifts by a third over seconds and not in a straight line, so
 * the mean of two ends can miss what happened in between; slices see the
 * same machine to within a second.
 *
 * Every request carries a nonce of its own: the DER is encoded once per
 * client and certificate and the nonce's bytes are rewritten in place
 * (client, sequence number) before each send, which costs nothing and
 * keeps a server from answering from a cache.  Every response must be a
 * 200 with a body; every SAMPLE-th of each client is parsed and checked
 * against the CA (signature, the certificate's status, the nonce, the
 * times), so a broken server can not look fast.
 *
 * Usage: bench-ocsp [seconds-per-figure] [clients] [hallmark-binary]
 *            [key-type]
 * (default: 3 8, the hallmark next to this program, p256)
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "hallmark/hallmark.h"
#include "bench.h"
#include "internal.h"	/* the signer's key, certificate and context */

#define NCERT		8	/* leaf certificates; the first revoked */
#define REVOKED		0
#define SLICE		0.25	/* seconds */
#define SAMPLE		64	/* check one response in SAMPLE */
#define CLIENTS_MAX	256
#define NONCE_LEN	16
#define IO_TIMEOUT	5	/* seconds a socket may wait */
#define START_TIMEOUT	10.0	/* seconds for "listening on" */
#define CMD_TIMEOUT	60.0	/* seconds for a CLI command */
#define STOP_TIMEOUT	5.0	/* seconds from SIGTERM to exit */
#define SLICE_TIMEOUT	30.0	/* seconds for the clients to stop */
#define HEAD_MAX	4096	/* response status line and headers */
#define BODY_MAX	8192	/* response body */

/* What the exit path undoes: the server and the directory. */
static pid_t		server_pid = -1;
static char		tmpdir[] = "/tmp/hm-bench-ocsp-XXXXXX";
static int		have_dir;
static volatile sig_atomic_t interrupted;

struct fixture {
	hm_ca		*ca;
	hm_signer	*s;		/* the root: key and certificate */
	hm_responder	*r;		/* for (c) */
	X509		*leaf[NCERT];
	X509_STORE	*trust;		/* the root */
	STACK_OF(X509)	*signers;	/* the root, as the signer */
};

/* One request, HTTP head and DER body in one buffer, sent as it is. */
struct req {
	unsigned char	*msg;
	size_t		 len;
	size_t		 body;		/* where the DER starts */
	size_t		 nonce;		/* where the nonce's bytes are */
};

struct bench;

struct client {
	pthread_t	 th;
	struct bench	*b;
	uint32_t	 id;
	struct req	 rq[NCERT];
	int		 next;		/* the leaf asked about next */
	uint64_t	 seq;
	long		 checked;
	int		 fd;
	/* What was read: a response, maybe the start of the next. */
	unsigned char	 buf[HEAD_MAX + BODY_MAX];
	size_t		 have, used;
	char		 why[256];	/* set: this client failed */
};

struct bench {
	const struct fixture	*f;
	unsigned		 port;
	cpu_set_t		 cli_cpus;
	int			 pin_clients;
	pthread_mutex_t		 mu;
	pthread_cond_t		 go, done;
	unsigned		 gen;		/* a new slice */
	int			 quit, busy, failed;
	long			 count, total;
	atomic_int		 run;
	struct client		*c;
	int			 nclients;
};

static void
log_tail(void)
{
	char	path[128], buf[1024], *from = buf;
	ssize_t	n;
	off_t	end;
	int	fd;

	snprintf(path, sizeof(path), "%s/serve.log", tmpdir);
	if (!have_dir || (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	if ((end = lseek(fd, 0, SEEK_END)) > (off_t)sizeof(buf) - 1)
		lseek(fd, end - (off_t)sizeof(buf) + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	if ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		/* Whole lines only. */
		if (end >= (off_t)sizeof(buf) && (from = strchr(buf, '\n')) !=
		    NULL)
			from++;
		fprintf(stderr, "end of the server's log:\n%s",
		    from != NULL ? from : buf);
	}
	close(fd);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2),
    noreturn));

/* Only the main thread, with the clients parked or gone. */
static void
fail(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ERR_print_errors_fp(stderr);
	log_tail();
	exit(1);	/* cleanup() stops the server, removes the directory */
}

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void
sleep_for(double secs)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);	/* early on a signal: checked after */
}

/* Seconds the server has run on a CPU (its one thread), or -1. */
static double
server_cpu(void)
{
	char		 path[64], line[128];
	unsigned long long ns;
	FILE		*fp;
	int		 ok;

	snprintf(path, sizeof(path), "/proc/%ld/schedstat", (long)server_pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	ok = fgets(line, sizeof(line), fp) != NULL &&
	    sscanf(line, "%llu", &ns) == 1;
	fclose(fp);
	return ok ? (double)ns / 1e9 : -1;
}

/* Wait up to secs for pid: its wait status, or -1 (still running). */
static int
wait_for(pid_t pid, double secs)
{
	double	t0 = now();
	pid_t	w;
	int	st;

	for (;;) {
		if ((w = waitpid(pid, &st, WNOHANG)) == pid)
			return st;
		if (w == -1 && errno != EINTR)
			return 0;	/* not ours any more */
		if (now() - t0 >= secs)
			return -1;
		sleep_for(0.01);
	}
}

/* Stop the server: SIGTERM, a bounded wait, then SIGKILL. */
static int
server_stop(void)
{
	int	st;

	if (server_pid <= 0)
		return 0;
	kill(server_pid, SIGTERM);
	if ((st = wait_for(server_pid, STOP_TIMEOUT)) == -1) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, &st, 0);
		st = -1;
	}
	server_pid = -1;
	return st;
}

static pid_t
spawn(const char *const argv[], int out, int errfd, const cpu_set_t *cpus)
{
	pid_t	pid;
	int	null;

	if ((pid = fork()) != 0)
		return pid;
	if ((null = open("/dev/null", O_RDWR)) == -1 ||
	    dup2(null, 0) == -1 ||
	    dup2(out >= 0 ? out : null, 1) == -1 ||
	    (errfd >= 0 && dup2(errfd, 2) == -1))
		_exit(127);
	if (cpus != NULL)
		sched_setaffinity(0, sizeof(*cpus), cpus);
	execv(argv[0], (char *const *)argv);
	fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Run a command, its output to /dev/null, its errors to ours. */
static void
run(const char *const argv[])
{
	pid_t	pid;
	int	st;

	if ((pid = spawn(argv, -1, -1, NULL)) == -1)
		fail("fork: %s", strerror(errno));
	if ((st = wait_for(pid, CMD_TIMEOUT)) == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		fail("%s %s: no exit after %.0f s", argv[0], argv[3],
		    CMD_TIMEOUT);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("%s %s failed", argv[0], argv[3]);
}

static void
cleanup(void)
{
	const char	*rm[] = { "/bin/rm", "-rf", tmpdir, NULL };
	pid_t		 pid;

	server_stop();
	if (have_dir && (pid = spawn(rm, -1, -1, NULL)) > 0)
		waitpid(pid, NULL, 0);
	have_dir = 0;
}

/* The port of "listening on 127.0.0.1:PORT\n" on fd, in bounded time. */
static unsigned
read_port(int fd)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	const char	*pre = "listening on 127.0.0.1:";
	char		 line[128], *end;
	unsigned long	 port;
	size_t		 have = 0;
	ssize_t		 n;
	double		 t0 = now(), left;

	while (memchr(line, '\n', have) == NULL) {
		if ((left = START_TIMEOUT - (now() - t0)) <= 0)
			fail("no 'listening on' from the server after %.0f s",
			    START_TIMEOUT);
		if (have == sizeof(line) - 1)
			fail("the server said too long a line");
		if (poll(&pfd, 1, (int)(left * 1000) + 1) == -1 &&
		    errno != EINTR)
			fail("poll: %s", strerror(errno));
		if (interrupted)
			fail("interrupted");
		if ((pfd.revents & (POLLIN | POLLHUP)) == 0)
			continue;
		if ((n = read(fd, line + have, sizeof(line) - 1 - have)) <= 0)
			fail("the server exited before it listened");
		have += (size_t)n;
	}
	line[have] = '\0';
	if (strncmp(line, pre, strlen(pre)) != 0)
		fail("unexpected from the server: %.64s", line);
	errno = 0;
	port = strtoul(line + strlen(pre), &end, 10);
	if (errno != 0 || *end != '\n' || port == 0 || port > 65535)
		fail("bad port in: %.64s", line);
	return (unsigned)port;
}

static unsigned
server_start(const char *hm, const cpu_set_t *cpu)
{
	const char	*argv[] = { hm, "-d", tmpdir, "serve", "--listen",
			    "127.0.0.1:0", NULL };
	char		 path[128];
	unsigned	 port;
	int		 p[2], logfd;

	/* Its one line a request goes to a file, as a real one's would. */
	snprintf(path, sizeof(path), "%s/serve.log", tmpdir);
	if ((logfd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || pipe2(p, O_CLOEXEC) == -1)
		fail("%s: %s", path, strerror(errno));
	if ((server_pid = spawn(argv, p[1], logfd, cpu)) == -1)
		fail("fork: %s", strerror(errno));
	close(p[1]);
	close(logfd);
	port = read_port(p[0]);
	close(p[0]);
	return port;
}

static X509 *
read_cert(const char *path)
{
	X509	*x;
	FILE	*fp;

	if ((fp = fopen(path, "r")) == NULL)
		fail("%s: %s", path, strerror(errno));
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	if (x == NULL)
		fail("%s: not a certificate", path);
	return x;
}

/* A CA made with the CLI, NCERT leaves, the first revoked. */
static void
setup(struct fixture *f, const char *hm, const char *kt)
{
	const char	*init[] = { hm, "-d", tmpdir, "init", "--cn",
			    "Bench OCSP Root", "--key-type", kt, NULL };
	const char	*issue[] = { hm, "-d", tmpdir, "issue", "--profile",
			    "server", "--new-key", NULL, "--san", NULL, "-o",
			    NULL, NULL };
	const char	*revoke[] = { hm, "-d", tmpdir, "revoke", NULL,
			    "--reason", "keyCompromise", NULL };
	char		 key[128], san[64], pem[128], serial[41];
	hm_err		 err;
	int		 i;

	run(init);
	for (i = 0; i < NCERT; i++) {
		snprintf(key, sizeof(key), "%s/leaf%d.key", tmpdir, i);
		snprintf(san, sizeof(san), "dns:leaf%d.bench.example", i);
		snprintf(pem, sizeof(pem), "%s/leaf%d.pem", tmpdir, i);
		issue[7] = key;
		issue[9] = san;
		issue[11] = pem;
		run(issue);
		f->leaf[i] = read_cert(pem);
	}
	if (hm_x509_serial_hex(f->leaf[REVOKED], serial) == -1)
		fail("serial of leaf %d", REVOKED);
	revoke[4] = serial;
	run(revoke);

	if (hm_ca_open(tmpdir, &f->ca, &err) != HM_OK ||
	    hm_ca_signer(f->ca, NULL, NULL, &f->s, &err) != HM_OK ||
	    hm_responder_new(f->ca, NULL, NULL, &f->r, &err) != HM_OK)
		fail("CA: %s", err.msg);
	if ((f->trust = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(f->trust, f->s->cert) != 1 ||
	    (f->signers = sk_X509_new_null()) == NULL ||
	    sk_X509_push(f->signers, f->s->cert) <= 0)
		fail("trust store");
}

static void
fixture_free(struct fixture *f)
{
	int	i;

	sk_X509_free(f->signers);	/* borrowed from f->s */
	X509_STORE_free(f->trust);
	for (i = 0; i < NCERT; i++)
		X509_free(f->leaf[i]);
	hm_responder_free(f->r);
	hm_signer_free(f->s);
	hm_ca_close(f->ca);
}

/* The request about leaf i with a nonce, after an HTTP head for port. */
static void
req_build(const struct fixture *f, int i, unsigned port, struct req *rq)
{
	OCSP_REQUEST	*q;
	OCSP_CERTID	*id;
	unsigned char	 mark[NONCE_LEN], *der = NULL, *at;
	char		 head[256];
	int		 n, h;

	if ((q = OCSP_REQUEST_new()) == NULL ||
	    (id = OCSP_cert_to_id(EVP_sha1(), f->leaf[i], f->s->cert)) ==
	    NULL)
		fail("OCSP request");
	if (OCSP_request_add0_id(q, id) == NULL) {
		OCSP_CERTID_free(id);
		fail("OCSP request");
	}
	/* A random mark to find where the nonce's bytes are in the DER. */
	if (RAND_bytes(mark, sizeof(mark)) != 1 ||
	    !OCSP_request_add1_nonce(q, mark, sizeof(mark)) ||
	    (n = i2d_OCSP_REQUEST(q, &der)) <= 0 ||
	    (at = memmem(der, (size_t)n, mark, sizeof(mark))) == NULL)
		fail("OCSP request");
	h = snprintf(head, sizeof(head), "POST /ocsp HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%u\r\nContent-Type: application/ocsp-request\r\n"
	    "Content-Length: %d\r\n\r\n", port, n);
	if (h <= 0 || (size_t)h >= sizeof(head) ||
	    (rq->msg = malloc((size_t)h + (size_t)n)) == NULL)
		fail("HTTP request");
	memcpy(rq->msg, head, (size_t)h);
	memcpy(rq->msg + h, der, (size_t)n);
	rq->len = (size_t)h + (size_t)n;
	rq->body = (size_t)h;
	rq->nonce = (size_t)h + (size_t)(at - der);
	OPENSSL_free(der);
	OCSP_REQUEST_free(q);
}

/* A nonce of its own: client id, sequence number, the random rest. */
static void
nonce_set(unsigned char *p, uint32_t id, uint64_t seq)
{
	memcpy(p, &id, sizeof(id));
	memcpy(p + sizeof(id), &seq, sizeof(seq));
}

/*
 * The response resp to the request req about leaf i: successful, signed
 * by the CA, with leaf i's status, the nonce of req, current times.
 * *tbslen (if not NULL) gets the size of what was signed.
 */
static int
check_response(const struct fixture *f, const unsigned char *req,
    size_t reqlen, int i, const unsigned char *resp, size_t resplen,
    size_t *tbslen, char *why, size_t whylen)
{
	const unsigned char	*p;
	ASN1_GENERALIZEDTIME	*thisupd, *nextupd, *revt;
	OCSP_REQUEST		*q = NULL;
	OCSP_RESPONSE		*o = NULL;
	OCSP_BASICRESP		*bs = NULL;
	OCSP_CERTID		*id = NULL;
	const char		*bad = NULL;
	int			 status, reason, n = 0, rc = -1;

	p = req;
	if ((q = d2i_OCSP_REQUEST(NULL, &p, (long)reqlen)) == NULL) {
		bad = "the request does not parse";
		goto out;
	}
	p = resp;
	if ((o = d2i_OCSP_RESPONSE(NULL, &p, (long)resplen)) == NULL ||
	    p != resp + resplen)
		bad = "the response does not parse";
	else if (OCSP_response_status(o) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
		bad = "the response is not successful";
	else if ((bs = OCSP_response_get1_basic(o)) == NULL)
		bad = "no basic response";
	else if (OCSP_basic_verify(bs, f->signers, f->trust, 0) != 1)
		bad = "the response does not verify against the CA";
	else if (OCSP_check_nonce(q, bs) != 1)
		bad = "the response does not echo the nonce";
	else if ((id = OCSP_cert_to_id(EVP_sha1(), f->leaf[i],
	    f->s->cert)) == NULL ||
	    OCSP_resp_find_status(bs, id, &status, &reason, &revt, &thisupd,
	    &nextupd) != 1)
		bad = "the response does not name the certificate asked about";
	else if (status != (i == REVOKED ? V_OCSP_CERTSTATUS_REVOKED :
	    V_OCSP_CERTSTATUS_GOOD))
		bad = "wrong certificate status";
	else if (OCSP_check_validity(thisupd, nextupd, 300, -1) != 1)
		bad = "thisUpdate or nextUpdate out of range";
	else if (tbslen != NULL && (n = i2d_OCSP_RESPDATA(
	    OCSP_resp_get0_respdata(bs), NULL)) <= 0)
		bad = "tbsResponseData does not encode";
	if (bad != NULL)
		goto out;
	if (tbslen != NULL)
		*tbslen = (size_t)n;
	rc = 0;
 out:
	if (bad != NULL) {
		snprintf(why, whylen, "leaf %d: %s", i, bad);
		ERR_clear_error();
	}
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(o);
	OCSP_REQUEST_free(q);
	return rc;
}

static int
client_connect(struct client *c)
{
	struct sockaddr_in	 sa;
	struct timeval		 tv = { IO_TIMEOUT, 0 };
	int			 one = 1;

	if ((c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(c->why, sizeof(c->why), "socket: %s",
		    strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)c->b->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* SO_SNDTIMEO bounds connect() too. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ==
	    -1 || setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))
	    == -1 || setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) == -1 ||
	    connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		snprintf(c->why, sizeof(c->why), "connect: %s",
		    strerror(errno));
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->have = c->used = 0;
	return 0;
}

/* Content-Length's value: digits between optional blanks, or -1. */
static long
content_length(const unsigned char *v, const unsigned char *end)
{
	long	n = 0;
	int	digits = 0;

	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	for (; v < end && *v >= '0' && *v <= '9'; v++) {
		if (++digits > 9)
			return -1;
		n = n * 10 + (*v - '0');
	}
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	return digits > 0 && v == end ? n : -1;
}

/*
 * The head of a response, hlen bytes at c->buf: the status, the body's
 * length (Content-Length required, no chunks) and Connection: close.
 */
static int
parse_head(struct client *c, size_t hlen, int *status, size_t *clen,
    int *closing)
{
	const unsigned char	*l, *le, *end = c->buf + hlen - 2;
	const unsigned char	*b = c->buf;
	long			 n = -1;

	if (hlen > HEAD_MAX) {
		snprintf(c->why, sizeof(c->why), "response head over %d "
		    "bytes", HEAD_MAX);
		return -1;
	}
	if (hlen < 16 || memcmp(b, "HTTP/1.", 7) != 0 || b[8] != ' ' ||
	    b[9] < '1' || b[9] > '5' || b[10] < '0' || b[10] > '9' ||
	    b[11] < '0' || b[11] > '9' || b[12] != ' ') {
		snprintf(c->why, sizeof(c->why), "not an HTTP/1.x status "
		    "line");
		return -1;
	}
	*status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
	*closing = 0;
	/* Each header line ends in CRLF; the last CRLF ends the head. */
	l = (const unsigned char *)memmem(b, hlen, "\r\n", 2) + 2;
	for (; l < end; l = le + 2) {
		le = memmem(l, (size_t)(end + 2 - l), "\r\n", 2);
		if (le - l >= 15 && strncasecmp((const char *)l,
		    "Content-Length:", 15) == 0)
			n = content_length(l + 15, le);
		else if (le - l >= 18 && strncasecmp((const char *)l,
		    "Transfer-Encoding:", 18) == 0)
			n = -2;
		else if (le - l == 17 && strncasecmp((const char *)l,
		    "Connection: close", 17) == 0)
			*closing = 1;
	}
	if (n < 0 || n > BODY_MAX) {
		snprintf(c->why, sizeof(c->why), "HTTP %d: %s", *status,
		    n == -2 ? "chunked, want Content-Length" : n == -1 ?
		    "no Content-Length" : "body too large");
		return -1;
	}
	*clen = (size_t)n;
	return 0;
}

/*
 * Send msg on c's connection and read one response into c->buf, every
 * length bounded; *body points there until the next call.
 */
static int
roundtrip(struct client *c, const unsigned char *msg, size_t len,
    int *status, const unsigned char **body, size_t *blen, int *closing)
{
	const unsigned char	*e;
	size_t			 off, hlen = 0, clen = 0;
	ssize_t			 n;

	/* What is left of the last read starts this response. */
	memmove(c->buf, c->buf + c->used, c->have - c->used);
	c->have -= c->used;
	c->used = 0;
	for (off = 0; off < len; off += (size_t)n)
		if ((n = send(c->fd, msg + off, len - off, MSG_NOSIGNAL)) <=
		    0) {
			snprintf(c->why, sizeof(c->why), "send: %s",
			    n == 0 ? "nothing sent" : errno == EAGAIN ?
			    "timed out" : strerror(errno));
			return -1;
		}
	for (;;) {
		if (hlen == 0 && (e = memmem(c->buf, c->have, "\r\n\r\n",
		    4)) != NULL) {
			hlen = (size_t)(e - c->buf) + 4;
			if (parse_head(c, hlen, status, &clen, closing) != 0)
				return -1;
		}
		if (hlen == 0 && c->have >= HEAD_MAX) {
			snprintf(c->why, sizeof(c->why), "response head over "
			    "%d bytes", HEAD_MAX);
			return -1;
		}
		if (hlen > 0 && c->have >= hlen + clen) {
			*body = c->buf + hlen;
			*blen = clen;
			c->used = hlen + clen;
			return 0;
		}
		if ((n = recv(c->fd, c->buf + c->have, sizeof(c->buf) -
		    c->have, 0)) <= 0) {
			snprintf(c->why, sizeof(c->why), "recv: %s",
			    n == 0 ? "the server closed the connection" :
			    errno == EAGAIN ? "no answer in time" :
			    strerror(errno));
			return -1;
		}
		c->have += (size_t)n;
	}
}

/* One request and its response, checked. */
static int
client_one(struct client *c)
{
	struct req		*rq = &c->rq[c->next];
	const unsigned char	*body;
	size_t			 blen;
	int			 status = 0, closing = 0;

	if (c->fd == -1 && client_connect(c) != 0)
		return -1;
	nonce_set(rq->msg + rq->nonce, c->id, c->seq);
	if (roundtrip(c, rq->msg, rq->len, &status, &body, &blen, &closing)
	    != 0)
		return -1;
	if (status != 200 || blen == 0) {
		snprintf(c->why, sizeof(c->why), "HTTP %d with %zu bytes",
		    status, blen);
		return -1;
	}
	if (c->seq % SAMPLE == 0) {
		if (check_response(c->b->f, rq->msg + rq->body,
		    rq->len - rq->body, c->next, body, blen, NULL, c->why,
		    sizeof(c->why)) != 0)
			return -1;
		c->checked++;
	}
	if (closing) {
		close(c->fd);
		c->fd = -1;
	}
	c->seq++;
	c->next = (c->next + 1) % NCERT;
	return 0;
}

static void *
client_main(void *arg)
{
	struct client	*c = arg;
	struct bench	*b = c->b;
	unsigned	 gen = 0;
	long		 n;
	int		 quit;

	if (b->pin_clients)
		pthread_setaffinity_np(pthread_self(), sizeof(b->cli_cpus),
		    &b->cli_cpus);
	for (;;) {
		pthread_mutex_lock(&b->mu);
		while (!b->quit && b->gen == gen)
			pthread_cond_wait(&b->go, &b->mu);
		quit = b->quit;
		gen = b->gen;
		pthread_mutex_unlock(&b->mu);
		if (quit)
			break;
		n = 0;
		while (atomic_load(&b->run) && c->why[0] == '\0' &&
		    client_one(c) == 0)
			n++;
		pthread_mutex_lock(&b->mu);
		b->count += n;
		if (c->why[0] != '\0')
			b->failed = 1;
		if (--b->busy == 0)
			pthread_cond_signal(&b->done);
		pthread_mutex_unlock(&b->mu);
	}
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	return NULL;
}

/*
 * (b): the clients run for about secs seconds; returns the responses.
 * The clock stops when the last client has its last answer, so every
 * response the server made in the time is counted, none outside it.
 * *cpu gets the server's CPU time in the slice.
 */
static long
load_slice(struct bench *b, double secs, double *t, double *cpu)
{
	struct timespec	 dl;
	double		 t0, c0;
	long		 n;
	int		 i, e = 0;

	c0 = server_cpu();
	pthread_mutex_lock(&b->mu);
	b->count = 0;
	b->busy = b->nclients;
	atomic_store(&b->run, 1);
	b->gen++;
	t0 = now();
	pthread_cond_broadcast(&b->go);
	pthread_mutex_unlock(&b->mu);
	sleep_for(secs);
	atomic_store(&b->run, 0);

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += (time_t)SLICE_TIMEOUT;
	pthread_mutex_lock(&b->mu);
	while (b->busy > 0 && e == 0)
		e = pthread_cond_timedwait(&b->done, &b->mu, &dl);
	*t = now() - t0;
	n = b->count;
	b->total += n;
	pthread_mutex_unlock(&b->mu);
	*cpu = server_cpu() - c0;
	if (e != 0)
		fail("the clients still busy %.0f s after a slice",
		    SLICE_TIMEOUT);
	if (b->failed)
		for (i = 0; i < b->nclients; i++)
			if (b->c[i].why[0] != '\0')
				fail("client %d: %s", i, b->c[i].why);
	return n;
}

/* (a): signatures of a tbslen-byte message in about secs seconds. */
static long
raw_sign(const struct fixture *f, EVP_MD_CTX *tmp, size_t tbslen,
    double secs, double *t)
{
	unsigned char	 msg[2048], sig[1024];
	size_t		 siglen;
	double		 t0;
	long		 n = 0;

	memset(msg, 0x5a, sizeof(msg));
	if (tbslen > sizeof(msg))
		tbslen = sizeof(msg);
	t0 = now();
	do {
		siglen = sizeof(sig);
		if (EVP_MD_CTX_copy_ex(tmp, f->s->sign_tmpl) != 1 ||
		    EVP_DigestSign(tmp, sig, &siglen, msg, tbslen) != 1)
			fail("raw signature");
		n++;
	} while ((*t = now() - t0) < secs);
	return n;
}

/* (c): hm_ocsp_respond on the requests rq, in about secs seconds. */
static long
in_process(const struct fixture *f, struct req *rq, uint64_t *seq,
    double secs, double *t)
{
	unsigned char	*resp;
	size_t		 len;
	hm_err		 err;
	double		 t0;
	long		 n = 0;
	int		 i;

	t0 = now();
	do {
		i = (int)(*seq % NCERT);
		nonce_set(rq[i].msg + rq[i].nonce, UINT32_MAX, (*seq)++);
		if (hm_ocsp_respond(f->r, rq[i].msg + rq[i].body,
		    rq[i].len - rq[i].body, &resp, &len, &err) != HM_OK)
			fail("hm_ocsp_respond: %s", err.msg);
		free(resp);
		n++;
	} while ((*t = now() - t0) < secs);
	return n;
}

/* One in-process response checked: the size of what the server signs. */
static size_t
tbs_size(const struct fixture *f, struct req *rq)
{
	unsigned char	*resp;
	size_t		 len, tbslen;
	hm_err		 err;
	char		 why[256];
	int		 i;

	for (i = 0; i < NCERT; i++) {
		nonce_set(rq[i].msg + rq[i].nonce, UINT32_MAX - 1, (uint64_t)i);
		if (hm_ocsp_respond(f->r, rq[i].msg + rq[i].body,
		    rq[i].len - rq[i].body, &resp, &len, &err) != HM_OK)
			fail("hm_ocsp_respond: %s", err.msg);
		if (check_response(f, rq[i].msg + rq[i].body,
		    rq[i].len - rq[i].body, i, resp, len, &tbslen, why,
		    sizeof(why)) != 0)
			fail("hm_ocsp_respond: %s", why);
		free(resp);
	}
	return tbslen;
}

/* The hallmark next to this program. */
static void
default_hallmark(char *buf, size_t len)
{
	ssize_t	 n;
	char	*slash;

	if ((n = readlink("/proc/self/exe", buf, len - 1)) <= 0)
		fail("readlink /proc/self/exe: %s", strerror(errno));
	buf[n] = '\0';
	if ((slash = strrchr(buf, '/')) == NULL ||
	    (size_t)(slash - buf) + sizeof("/hallmark") > len)
		fail("where is hallmark? give its path");
	memcpy(slash, "/hallmark", sizeof("/hallmark"));
}

static long
number(const char *s, long lo, long hi, const char *what)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		fail("%s: want %ld to %ld", what, lo, hi);
	return v;
}

int
main(int argc, char **argv)
{
	struct fixture		 f;
	struct bench		 b;
	struct sigaction	 sa;
	pthread_condattr_t	 ca;
	cpu_set_t		 all, srv;
	sigset_t		 block, old;
	EVP_MD_CTX		*tmp;
	struct req		 rq[NCERT];
	char			 hm[PATH_MAX];
	const char		*kt = argc > 4 ? argv[4] : "p256";
	double			 secs, t, ta, tb, tc, a, bb, cc, cpu, busy;
	long			 n, na, nb, nc, checked = 0;
	uint64_t		 seq = 0;
	size_t			 tbslen;
	int			 i, j, k, rounds, ncpu, core, st;

	secs = (double)number(argc > 1 ? argv[1] : "3", 1, 3600, "seconds");
	memset(&b, 0, sizeof(b));
	b.nclients = (int)number(argc > 2 ? argv[2] : "8", 1, CLIENTS_MAX,
	    "clients");
	if (argc > 3)
		snprintf(hm, sizeof(hm), "%s", argv[3]);
	else
		default_hallmark(hm, sizeof(hm));
	if (access(hm, X_OK) == -1)
		fail("%s: %s", hm, strerror(errno));

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (mkdtemp(tmpdir) == NULL)
		fail("mkdtemp: %s", strerror(errno));
	have_dir = 1;
	atexit(cleanup);
	memset(&f, 0, sizeof(f));
	setup(&f, hm, kt);

	/* The server, (a) and (c) on the first core; clients on the rest. */
	if (sched_getaffinity(0, sizeof(all), &all) == -1)
		fail("sched_getaffinity: %s", strerror(errno));
	ncpu = CPU_COUNT(&all);
	for (core = 0; core < CPU_SETSIZE - 1 && !CPU_ISSET(core, &all);
	    core++)
		;
	CPU_ZERO(&srv);
	CPU_SET(core, &srv);
	b.cli_cpus = all;
	CPU_CLR(core, &b.cli_cpus);
	b.pin_clients = ncpu > 1;
	sched_setaffinity(0, sizeof(srv), &srv);
	b.f = &f;
	b.port = server_start(hm, &srv);

	for (i = 0; i < NCERT; i++)
		req_build(&f, i, b.port, &rq[i]);
	tbslen = tbs_size(&f, rq);
	if ((tmp = EVP_MD_CTX_new()) == NULL)
		fail("out of memory");

	if ((b.c = calloc((size_t)b.nclients, sizeof(*b.c))) == NULL)
		fail("out of memory");
	if (pthread_mutex_init(&b.mu, NULL) != 0 ||
	    pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&b.go, NULL) != 0 ||
	    pthread_cond_init(&b.done, &ca) != 0)
		fail("pthread");
	/* Signals go to the main thread only: it stops the run. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < b.nclients; i++) {
		b.c[i].b = &b;
		b.c[i].id = (uint32_t)i;
		b.c[i].fd = -1;
		b.c[i].next = i % NCERT;
		for (j = 0; j < NCERT; j++)
			req_build(&f, j, b.port, &b.c[i].rq[j]);
		if (pthread_create(&b.c[i].th, NULL, client_main, &b.c[i]) !=
		    0)
			fail("pthread_create");
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	/* A round uncounted: connections made, caches warm. */
	rounds = (int)(secs / SLICE + 0.5);
	na = nb = nc = 0;
	ta = tb = tc = busy = 0;
	for (k = -1; k < rounds && !interrupted; k++) {
		n = raw_sign(&f, tmp, tbslen, SLICE, &t);
		if (k >= 0) {
			na += n;
			ta += t;
		}
		n = load_slice(&b, SLICE, &t, &cpu);
		if (k >= 0) {
			nb += n;
			tb += t;
			busy += cpu;
		}
		n = in_process(&f, rq, &seq, SLICE, &t);
		if (k >= 0) {
			nc += n;
			tc += t;
		}
	}

	pthread_mutex_lock(&b.mu);
	b.quit = 1;
	pthread_cond_broadcast(&b.go);
	pthread_mutex_unlock(&b.mu);
	for (i = 0; i < b.nclients; i++) {
		pthread_join(b.c[i].th, NULL);
		checked += b.c[i].checked;
		for (j = 0; j < NCERT; j++)
			free(b.c[i].rq[j].msg);
	}
	if (interrupted)
		fail("interrupted");
	st = server_stop();
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("the server did not exit cleanly on SIGTERM");

	a = (double)na / ta;
	bb = (double)nb / tb;
	cc = (double)nc / tc;
	printf("(a) raw %s sign, CA key, %zu-byte TBS %9.0f sig/s   "
	    "(reference)\n", kt, tbslen, a);
	/* Busy below 100 %: the clients or the machine's other work. */
	printf("(b) OCSP over HTTP, %3d clients      %9.0f resp/s  "
	    "%5.1f %% of (a)  server busy %.0f %%, %.0f us CPU/resp\n",
	    b.nclients, bb, 100 * bb / a, 100 * busy / tb,
	    nb > 0 ? busy / (double)nb * 1e6 : 0);
	printf("(c) hm_ocsp_respond in process       %9.0f resp/s  "
	    "%5.1f %% of (a)\n", cc, 100 * cc / a);
	printf("    %ld of %ld HTTP responses checked (signature, status, "
	    "nonce); server on core %d%s\n", checked, b.total, core,
	    b.pin_clients ? ", clients on the others" : ", clients too");

	for (i = 0; i < NCERT; i++)
		free(rq[i].msg);
	EVP_MD_CTX_free(tmp);
	free(b.c);
	pthread_cond_destroy(&b.go);
	pthread_cond_destroy(&b.done);
	pthread_condattr_destroy(&ca);
	pthread_mutex_destroy(&b.mu);
	fixture_free(&f);
	return 0;
}
