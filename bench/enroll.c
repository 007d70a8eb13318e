/*
 * bench/enroll: enrollments per second of a real `hallmark serve` over
 * HTTP (docs/PROTOCOL.md, section 1), next to the raw signature rate,
 * all measured in this one run:
 *   (a) raw OpenSSL P-256 sign + verify pairs per second, prepared
 *       contexts copied (as bench/issue): the limit, since an enrollment
 *       checks one CSR signature and makes one;
 *   (b) enrollments per second of `hallmark serve` to CLIENTS threads,
 *       each on one HTTP/1.1 keep-alive connection posting to /enroll,
 *       every certificate committed to the store before its reply is
 *       sent; the ratio to (a) and the latency of a request (send to
 *       last byte of the reply), p50 and p99.
 * (a) and (b) are measured in interleaved slices of SLICE seconds, as
 * bench/issue and bench/ocsp do.  (a) and the server's event loop run on
 * one core; the client threads and the server's other thread (its store
 * writer, which commits one batch while the loop signs the next) on the
 * other, so the clients' work is not the loop's.
 *
 * Each enrollment needs a token of its own.  Between slices, untimed,
 * the bench tops up a pool of sealed requests: tokens inserted into the
 * CA's store in one transaction (the first made by hm_token_new, the
 * others with its scope, a fresh id and PSK each), never more than
 * HM_TOKENS_PENDING_MAX pending (the store counts them in the same
 * transaction), and a request sealed for each (hm_enroll_new with one of
 * NKEYS CSRs made at the start, asking for no name: the token's scope
 * decides).  So the timed part holds no client cryptography but opening
 * the replies.
 *
 * Every reply must be a 200 that opens under its token for its request
 * (hm_enroll_rep_open) with the status "issued"; every SAMPLE-th of each
 * client goes through hm_enroll_finish with its key (the certificate is
 * for the key, the chain verifies).  After the run, with the server
 * stopped, the inventory must hold exactly one more certificate for each
 * reply that said issued, and the store as many used tokens.
 *
 * Usage: bench-enroll [seconds-per-figure] [clients] [hallmark-binary]
 * (default: 3 16, the hallmark next to this program)
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <dirent.h>
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

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hallmark/hallmark.h"
#include "bench.h"
#include "internal.h"	/* the store's token ops, the reply codec */

#define NKEYS		64	/* client keys, one CSR each */
#define SLICE		0.25	/* seconds */
#define SAMPLE		64	/* hm_enroll_finish on one reply in SAMPLE */
#define CLIENTS_MAX	256
#define POOL_MIN	1000	/* sealed requests ready before a slice */
#define POOL_MAX	(HM_TOKENS_PENDING_MAX - 500)
#define TOKEN_TTL	3600	/* seconds: longer than any run */
#define IO_TIMEOUT	5	/* seconds a socket may wait */
#define START_TIMEOUT	10.0	/* seconds for "listening on" */
#define CMD_TIMEOUT	60.0	/* seconds for a CLI command */
#define STOP_TIMEOUT	5.0	/* seconds from SIGTERM to exit */
#define SLICE_TIMEOUT	30.0	/* seconds for the clients to stop */
#define HEAD_MAX	4096	/* response status line and headers */
#define BODY_MAX	HM_ENROLL_MAX	/* response body */
#define CN		"node.bench.example"

/* What the exit path undoes: the server and the directory. */
static pid_t		server_pid = -1;
static char		tmpdir[] = "/tmp/hm-bench-enroll-XXXXXX";
static int		have_dir;
static volatile sig_atomic_t interrupted;

struct fixture {
	hm_ca		*ca;		/* the bench's own store connection */
	hm_key		*key[NKEYS];
	hm_csr		*csr[NKEYS];
	struct hm_token_rec tmpl;	/* the scope every token gets */
};

/* One sealed request, HTTP head and body in one buffer, sent as it is. */
struct prep {
	hm_enroll	*e;
	int		 key;		/* the CSR's key: fixture key[] */
	unsigned char	*msg;
	size_t		 len;
	unsigned char	 psk[HM_PSK_LEN];
	unsigned char	 id[HM_PSK_ID_LEN];
	unsigned char	 nonce_c[HM_ENROLL_NONCE_LEN];
	unsigned char	 hash[HM_ENROLL_HASH_LEN];
	double		 lat;		/* seconds, once answered */
};

/* Requests ready to send; the clients take them in order. */
struct pool {
	struct prep	*p;
	size_t		 n;
	atomic_size_t	 next;
};

struct bench;

struct client {
	pthread_t	 th;
	struct bench	*b;
	long		 done;		/* requests answered, all slices */
	long		 finished;	/* hm_enroll_finish'ed */
	int		 fd;
	/* What was read: a response, maybe the start of the next. */
	unsigned char	 buf[HEAD_MAX + BODY_MAX];
	size_t		 have, used;
	char		 why[HM_ERR_MSG_MAX + 64]; /* set: this client failed */
};

struct bench {
	struct fixture		*f;
	struct pool		*pool;
	unsigned		 port;
	cpu_set_t		 cli_cpus;
	int			 pin_clients;
	pthread_mutex_t		 mu;
	pthread_cond_t		 go, done;
	unsigned		 gen;		/* a new slice */
	int			 quit, busy, failed, dry;
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

/* Seconds the server's threads have run on a CPU, or -1. */
static double
server_cpu(void)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[320], line[128];
	unsigned long long ns, sum = 0;
	FILE		*fp;
	int		 n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)server_pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL && n < 64) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%.32s/schedstat",
		    (long)server_pid, de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		if (fgets(line, sizeof(line), fp) != NULL &&
		    sscanf(line, "%llu", &ns) == 1)
			sum += ns;
		fclose(fp);
		n++;
	}
	closedir(d);
	return (double)sum / 1e9;
}

/*
 * The server's threads but its first (the event loop, which stays on the
 * first core, as (a) does) to cpus: its store writer shares the second
 * core with the clients.  They exist once it listens.
 */
static void
server_threads_to(const cpu_set_t *cpus)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[64], *end;
	long		 tid;
	int		 n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/task", (long)server_pid);
	if ((d = opendir(path)) == NULL)
		fail("%s: %s", path, strerror(errno));
	while ((de = readdir(d)) != NULL && n < 64) {
		errno = 0;
		tid = strtol(de->d_name, &end, 10);
		if (errno != 0 || *end != '\0' || tid <= 0 ||
		    tid == (long)server_pid)
			continue;
		if (sched_setaffinity((pid_t)tid, sizeof(*cpus), cpus) == -1)
			fail("sched_setaffinity %ld: %s", tid, strerror(errno));
		n++;
	}
	closedir(d);
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

static int
count_cert(const hm_cert_info *ci, void *arg)
{
	(void)ci;
	(*(long *)arg)++;
	return 0;
}

static long
certs_stored(hm_ca *ca)
{
	hm_list_filter	lf;
	hm_err		err;
	long		n = 0;

	memset(&lf, 0, sizeof(lf));
	lf.now = time(NULL);
	if (hm_cert_list(ca, &lf, count_cert, &n, &err) != HM_OK)
		fail("listing the inventory: %s", err.msg);
	return n;
}

static int
count_used(const hm_token_info *ti, void *arg)
{
	if (strcmp(ti->state, "used") == 0)
		(*(long *)arg)++;
	return 0;
}

/*
 * A CA made with the CLI; the client keys and their CSRs (no names: the
 * token's scope decides); the scope every token gets, from one token
 * made by hm_token_new.
 */
static void
setup(struct fixture *f, const char *hm)
{
	const char	*init[] = { hm, "-d", tmpdir, "init", "--cn",
			    "Bench Enroll Root", NULL };
	hm_token_params	 tp;
	hm_token_info	 ti;
	hm_names	*sans;
	hm_err		 err;
	char		 tok[HM_TOKEN_LEN + 1];
	int		 i;

	run(init);
	if (hm_ca_open(tmpdir, &f->ca, &err) != HM_OK)
		fail("CA: %s", err.msg);
	for (i = 0; i < NKEYS; i++)
		if (hm_key_generate(HM_KEY_P256, &f->key[i], &err) != HM_OK ||
		    hm_csr_new_any(f->key[i], NULL, NULL, &f->csr[i], &err) !=
		    HM_OK)
			fail("client key: %s", err.msg);
	if ((sans = hm_names_new()) == NULL ||
	    hm_names_add(sans, "dns:" CN, &err) != HM_OK)
		fail("names");
	memset(&tp, 0, sizeof(tp));
	tp.name = CN;
	tp.profile = HM_PROFILE_SERVER;
	tp.sans = sans;
	tp.ttl = TOKEN_TTL;
	if (hm_token_new(f->ca, &tp, tok, &ti, &err) != HM_OK ||
	    f->ca->store->ops->token_get(f->ca->store, ti.id, &f->tmpl,
	    &err) != HM_OK)
		fail("token: %s", err.msg);
	OPENSSL_cleanse(tok, sizeof(tok));
	hm_token_rec_clear(&f->tmpl);
	hm_names_free(sans);
}

static void
fixture_free(struct fixture *f)
{
	int	i;

	for (i = 0; i < NKEYS; i++) {
		hm_csr_free(f->csr[i]);
		hm_key_free(f->key[i]);
	}
	hm_ca_close(f->ca);
}

static void
prep_clear(struct prep *p)
{
	hm_enroll_free(p->e);
	free(p->msg);
	OPENSSL_cleanse(p->psk, sizeof(p->psk));
	memset(p, 0, sizeof(*p));
}

/* A sealed request for token under CSR k, after an HTTP head for port. */
static void
prep_seal(const struct fixture *f, const char *token, int k,
    unsigned port, struct prep *p)
{
	struct hm_enroll_req	 h;
	const unsigned char	*body;
	char			 head[256];
	size_t			 blen;
	hm_err			 err;
	int			 n;

	memset(p, 0, sizeof(*p));
	p->key = k;
	if (hm_enroll_new(token, f->csr[k], &p->e, &err) != HM_OK ||
	    hm_token_parse(token, p->id, p->psk, &err) != HM_OK)
		fail("sealing a request: %s", err.msg);
	body = hm_enroll_request(p->e, &blen);
	if (hm_enroll_req_parse(body, blen, &h, &err) != HM_OK ||
	    hm_enroll_hash(body, blen, p->hash, &err) != HM_OK)
		fail("the request just sealed: %s", err.msg);
	memcpy(p->nonce_c, h.nonce_c, sizeof(p->nonce_c));
	n = snprintf(head, sizeof(head), "POST /enroll HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%u\r\n"
	    "Content-Type: application/x-hallmark-enroll\r\n"
	    "Content-Length: %zu\r\n\r\n", port, blen);
	if (n <= 0 || (size_t)n >= sizeof(head) ||
	    (p->msg = malloc((size_t)n + blen)) == NULL)
		fail("HTTP request");
	memcpy(p->msg, head, (size_t)n);
	memcpy(p->msg + n, body, blen);
	p->len = (size_t)n + blen;
}

/*
 * Untimed, between slices: drop what was sent (the clients checked it),
 * keep what was not, and add tokens and their requests up to want, the
 * tokens in one store transaction that counts the pending ones first.
 */
static void
pool_fill(struct fixture *f, struct pool *pl, size_t want, unsigned port,
    long *seq)
{
	struct hm_token_rec	 r;
	hm_store		*st = f->ca->store;
	unsigned char		 id[HM_PSK_ID_LEN];
	char			 tok[HM_TOKEN_LEN + 1];
	size_t			 i, next = atomic_load(&pl->next), add;
	int64_t			 pending;
	hm_err			 err;
	int			 rc, try;

	if (next > pl->n)
		next = pl->n;
	for (i = 0; i < next; i++)
		prep_clear(&pl->p[i]);
	memmove(pl->p, pl->p + next, (pl->n - next) * sizeof(*pl->p));
	pl->n -= next;
	atomic_store(&pl->next, 0);
	if (want > POOL_MAX)
		want = POOL_MAX;
	if (pl->n >= want)
		return;
	add = want - pl->n;
	r = f->tmpl;
	r.info.created_at = time(NULL);
	r.info.expires_at = r.info.created_at + TOKEN_TTL;
	if (st->ops->begin(st, &err) != HM_OK ||
	    st->ops->token_pending(st, r.info.created_at, &pending, &err) !=
	    HM_OK)
		fail("tokens: %s", err.msg);
	if (pending + (int64_t)add > HM_TOKENS_PENDING_MAX)
		fail("%lld tokens pending, %zu more would pass the cap of %d",
		    (long long)pending, add, HM_TOKENS_PENDING_MAX);
	for (i = 0; i < add; i++) {
		if (RAND_priv_bytes(r.psk, sizeof(r.psk)) != 1)
			fail("random PSK");
		for (try = 0, rc = HM_E_EXISTS; try < 4 && rc == HM_E_EXISTS;
		    try++) {
			if (RAND_bytes(id, sizeof(id)) != 1)
				fail("random id");
			hm_token_id_hex(id, r.info.id);
			rc = st->ops->token_insert(st, &r, &err);
		}
		if (rc != HM_OK || hm_token_format(id, r.psk, tok) != HM_OK)
			fail("token: %s", err.msg);
		prep_seal(f, tok, (int)(*seq % NKEYS), port,
		    &pl->p[pl->n + i]);
		(*seq)++;
	}
	if (st->ops->commit(st, &err) != HM_OK)
		fail("tokens: %s", err.msg);
	OPENSSL_cleanse(tok, sizeof(tok));
	OPENSSL_cleanse(r.psk, sizeof(r.psk));
	pl->n += add;
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

/*
 * One request from the pool and its reply, checked: 1 when the pool is
 * dry, -1 on failure (c->why says why).
 */
static int
client_one(struct client *c)
{
	struct pool		*pl = c->b->pool;
	struct prep		*p;
	struct hm_enroll_reply	 r;
	const unsigned char	*body;
	size_t			 blen, i;
	hm_err			 err;
	double			 t0;
	int			 status = 0, closing = 0, rc;

	if ((i = atomic_fetch_add(&pl->next, 1)) >= pl->n)
		return 1;
	p = &pl->p[i];
	if (c->fd == -1 && client_connect(c) != 0)
		return -1;
	t0 = now();
	if (roundtrip(c, p->msg, p->len, &status, &body, &blen, &closing)
	    != 0)
		return -1;
	p->lat = now() - t0;
	if (status != 200 || blen == 0) {
		snprintf(c->why, sizeof(c->why), "HTTP %d with %zu bytes",
		    status, blen);
		return -1;
	}
	memset(&r, 0, sizeof(r));
	if ((rc = hm_enroll_rep_open(p->psk, p->id, p->nonce_c, p->hash, body,
	    blen, &r, &err)) != HM_OK) {
		snprintf(c->why, sizeof(c->why), "the reply does not open: "
		    "%s", err.msg);
		return -1;
	}
	rc = r.status;
	if (rc != HM_ENROLL_ISSUED)
		snprintf(c->why, sizeof(c->why), "refused (%u): %s", r.code,
		    r.msg);
	hm_enroll_reply_clear(&r);
	if (rc != HM_ENROLL_ISSUED)
		return -1;
	if (c->done % SAMPLE == 0) {
		if (hm_enroll_finish(p->e, c->b->f->key[p->key], body, blen,
		    &err) != HM_OK) {
			snprintf(c->why, sizeof(c->why), "hm_enroll_finish: "
			    "%s", err.msg);
			return -1;
		}
		c->finished++;
	}
	if (closing) {
		close(c->fd);
		c->fd = -1;
	}
	c->done++;
	return 0;
}

static void *
client_main(void *arg)
{
	struct client	*c = arg;
	struct bench	*b = c->b;
	unsigned	 gen = 0;
	long		 n;
	int		 quit, rc = 0;

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
		    (rc = client_one(c)) == 0)
			n++;
		pthread_mutex_lock(&b->mu);
		b->count += n;
		if (rc == 1)
			b->dry = 1;
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
 * (b): the clients run for about secs seconds (less if the pool runs
 * dry); returns the enrollments.  The clock stops when the last client
 * has its last answer, so every reply of the time is counted, none
 * outside it.  *cpu gets the server's CPU time in the slice.
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
	b->dry = 0;
	atomic_store(&b->run, 1);
	b->gen++;
	t0 = now();
	pthread_cond_broadcast(&b->go);
	pthread_mutex_unlock(&b->mu);
	/* Sleep in steps: a dry pool ends the slice early. */
	while (now() - t0 < secs && !interrupted) {
		sleep_for(0.005);
		pthread_mutex_lock(&b->mu);
		e = b->busy == 0;
		pthread_mutex_unlock(&b->mu);
		if (e)
			break;
	}
	atomic_store(&b->run, 0);

	e = 0;
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

/* (a): sign a TBS-sized message and verify the signature, P-256. */
struct raw {
	unsigned char	 msg[600];
	EVP_PKEY	*k;
	EVP_MD_CTX	*sctx, *vctx, *tmp;
};

static void
raw_setup(struct raw *r)
{
	memset(r->msg, 0x5a, sizeof(r->msg));
	r->k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	r->sctx = EVP_MD_CTX_new();
	r->vctx = EVP_MD_CTX_new();
	r->tmp = EVP_MD_CTX_new();
	if (r->k == NULL || r->sctx == NULL || r->vctx == NULL ||
	    r->tmp == NULL ||
	    EVP_DigestSignInit_ex(r->sctx, NULL, "SHA256", NULL, NULL, r->k,
	    NULL) != 1 ||
	    EVP_DigestVerifyInit_ex(r->vctx, NULL, "SHA256", NULL, NULL, r->k,
	    NULL) != 1)
		fail("raw setup");
}

static void
raw_free(struct raw *r)
{
	EVP_MD_CTX_free(r->tmp);
	EVP_MD_CTX_free(r->sctx);
	EVP_MD_CTX_free(r->vctx);
	EVP_PKEY_free(r->k);
}

/* Pairs done in about secs seconds; *t gets the time taken. */
static long
raw_pairs(struct raw *r, double secs, double *t)
{
	unsigned char	 sig[128];
	size_t		 siglen;
	double		 t0;
	long		 n = 0;

	t0 = now();
	do {
		siglen = sizeof(sig);
		if (EVP_MD_CTX_copy_ex(r->tmp, r->sctx) != 1 ||
		    EVP_DigestSign(r->tmp, sig, &siglen, r->msg,
		    sizeof(r->msg)) != 1 ||
		    EVP_MD_CTX_copy_ex(r->tmp, r->vctx) != 1 ||
		    EVP_DigestVerify(r->tmp, sig, siglen, r->msg,
		    sizeof(r->msg)) != 1)
			fail("raw sign/verify");
		n++;
	} while ((*t = now() - t0) < secs);
	return n;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The latencies of the requests sent in the last slice, kept. */
static void
lat_keep(const struct pool *pl, double **lat, size_t *n, size_t *cap)
{
	size_t	i, sent = atomic_load(&pl->next);
	double	*p;

	if (sent > pl->n)
		sent = pl->n;
	if (*n + sent > *cap) {
		if ((p = realloc(*lat, (*n + sent + 4096) * sizeof(*p))) ==
		    NULL)
			fail("out of memory");
		*lat = p;
		*cap = *n + sent + 4096;
	}
	for (i = 0; i < sent; i++)
		(*lat)[(*n)++] = pl->p[i].lat;
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
	struct pool		 pl;
	struct sigaction	 sa;
	struct raw		 raw;
	pthread_condattr_t	 ca;
	cpu_set_t		 all, srv;
	sigset_t		 block, old;
	hm_ca			*after;
	hm_err			 err;
	char			 hm[PATH_MAX];
	double			 secs, t, ta, tb, a, bb, cpu, busy, best = 0;
	double			*lat = NULL, p50, p99;
	long			 n, na, nb, seq = 0, finished = 0, before;
	long			 stored, used = 0;
	size_t			 nlat = 0, cap = 0, want;
	int			 i, k, rounds, ncpu, core, st, dry = 0;

	secs = (double)number(argc > 1 ? argv[1] : "3", 1, 3600, "seconds");
	memset(&b, 0, sizeof(b));
	b.nclients = (int)number(argc > 2 ? argv[2] : "16", 1, CLIENTS_MAX,
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
	setup(&f, hm);
	before = certs_stored(f.ca);

	/* The server and (a) on the first core; clients on the rest. */
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
	if (b.pin_clients)
		server_threads_to(&b.cli_cpus);

	memset(&pl, 0, sizeof(pl));
	if ((pl.p = calloc(POOL_MAX, sizeof(*pl.p))) == NULL ||
	    (b.c = calloc((size_t)b.nclients, sizeof(*b.c))) == NULL)
		fail("out of memory");
	atomic_init(&pl.next, 0);
	b.pool = &pl;
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
		b.c[i].fd = -1;
		if (pthread_create(&b.c[i].th, NULL, client_main, &b.c[i]) !=
		    0)
			fail("pthread_create");
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	/*
	 * A round uncounted: connections made, caches warm.  Before each
	 * slice the pool holds three slices' worth at the best rate seen
	 * (twice as much after a dry slice), within the cap.
	 */
	raw_setup(&raw);
	rounds = (int)(secs / SLICE + 0.5);
	na = nb = 0;
	ta = tb = busy = 0;
	want = POOL_MIN;
	for (k = -1; k < rounds && !interrupted; k++) {
		n = raw_pairs(&raw, SLICE, &t);
		if (k >= 0) {
			na += n;
			ta += t;
		}
		pool_fill(&f, &pl, want, b.port, &seq);
		n = load_slice(&b, SLICE, &t, &cpu);
		if (k >= 0) {
			nb += n;
			tb += t;
			busy += cpu;
			lat_keep(&pl, &lat, &nlat, &cap);
			dry += b.dry;
		}
		if ((double)n / t > best)
			best = (double)n / t;
		want = (size_t)(3 * best * SLICE) + 4 * (size_t)b.nclients;
		if (b.dry)
			want = 2 * pl.n;
		if (want < POOL_MIN)
			want = POOL_MIN;
	}
	raw_free(&raw);

	pthread_mutex_lock(&b.mu);
	b.quit = 1;
	pthread_cond_broadcast(&b.go);
	pthread_mutex_unlock(&b.mu);
	for (i = 0; i < b.nclients; i++) {
		pthread_join(b.c[i].th, NULL);
		finished += b.c[i].finished;
	}
	if (interrupted)
		fail("interrupted");
	st = server_stop();
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("the server did not exit cleanly on SIGTERM");

	/* Durable: what the replies said issued is in the store. */
	if (hm_ca_open(tmpdir, &after, &err) != HM_OK)
		fail("CA: %s", err.msg);
	stored = certs_stored(after) - before;
	if (hm_token_list(after, count_used, &used, &err) != HM_OK)
		fail("tokens: %s", err.msg);
	hm_ca_close(after);
	if (stored != b.total || used != b.total)
		fail("%ld replies said issued; the store holds %ld new "
		    "certificates and %ld used tokens", b.total, stored, used);
	if (nlat == 0)
		fail("no enrollment timed");
	qsort(lat, nlat, sizeof(*lat), cmp_double);
	p50 = lat[(nlat - 1) / 2];
	p99 = lat[(size_t)((double)(nlat - 1) * 0.99)];

	a = (double)na / ta;
	bb = (double)nb / tb;
	printf("(a) raw P-256 sign+verify            %9.0f pairs/s  "
	    "(reference)\n", a);
	printf("(b) enrollments over HTTP, %3d clients %7.0f/s  %5.1f %% of "
	    "(a)  p50 %.2f ms  p99 %.2f ms  target >= 3000/s, p99 <= 10 ms\n",
	    b.nclients, bb, 100 * bb / a, p50 * 1e3, p99 * 1e3);
	printf("    server busy %.0f %% of a core, %.0f us CPU/enrollment; its "
	    "event loop on core %d%s\n", 100 * busy / tb, nb > 0 ?
	    busy / (double)nb * 1e6 : 0, core, b.pin_clients ?
	    ", its store writer and the clients on the others" :
	    ", the rest too");
	printf("    %ld replies opened and issued, %ld through "
	    "hm_enroll_finish; %ld new certificates and %ld used tokens in "
	    "the store%s\n", b.total, finished, stored, used,
	    dry > 0 ? " (the pool ran dry in a slice)" : "");

	for (i = 0; i < (int)pl.n; i++)
		prep_clear(&pl.p[i]);
	free(pl.p);
	free(lat);
	free(b.c);
	pthread_cond_destroy(&b.go);
	pthread_cond_destroy(&b.done);
	pthread_condattr_destroy(&ca);
	pthread_mutex_destroy(&b.mu);
	fixture_free(&f);
	return 0;
}
