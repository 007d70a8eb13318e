/*
 * What the benches share: a `hallmark serve` child and its directory,
 * a bounded keep-alive HTTP/1.1 client, a crew of client threads, the raw
 * sign + verify reference, the command line.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "bench.h"

#define START_TIMEOUT	10.0	/* seconds for "listening on" */
#define CMD_TIMEOUT	60.0	/* seconds for a CLI command */
#define STOP_TIMEOUT	5.0	/* seconds from SIGTERM to exit */
#define CREW_TIMEOUT	30.0	/* seconds for the clients to stop */

/* What the exit path undoes: the server and the directory. */
pid_t			server_pid = -1;
char			tmpdir[64];
volatile sig_atomic_t	interrupted;
static int		have_dir;

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

/* Only the main thread, with the clients parked or gone. */
void
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

void
sleep_for(double secs)
{
	struct timespec	ts;

	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = (long)((secs - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);	/* early on a signal: checked after */
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

int
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

void
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

void
bench_begin(const char *name)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/hm-bench-%s-XXXXXX", name);
	if (mkdtemp(tmpdir) == NULL)
		fail("mkdtemp: %s", strerror(errno));
	have_dir = 1;
	atexit(cleanup);
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

unsigned
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

int
cores_split(cpu_set_t *srv, cpu_set_t *cli, int *pin_clients)
{
	cpu_set_t	all;
	int		core;

	if (sched_getaffinity(0, sizeof(all), &all) == -1)
		fail("sched_getaffinity: %s", strerror(errno));
	for (core = 0; core < CPU_SETSIZE - 1 && !CPU_ISSET(core, &all);
	    core++)
		;
	CPU_ZERO(srv);
	CPU_SET(core, srv);
	*cli = all;
	CPU_CLR(core, cli);
	*pin_clients = CPU_COUNT(&all) > 1;
	sched_setaffinity(0, sizeof(*srv), srv);
	return core;
}

void
http_init(struct http *h, unsigned port, unsigned char *buf,
    size_t body_max, char *why, size_t whylen)
{
	memset(h, 0, sizeof(*h));
	h->fd = -1;
	h->port = port;
	h->buf = buf;
	h->body_max = body_max;
	h->why = why;
	h->whylen = whylen;
}

int
http_connect(struct http *h)
{
	struct sockaddr_in	 sa;
	struct timeval		 tv = { HTTP_IO_TIMEOUT, 0 };
	int			 one = 1;

	if ((h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(h->why, h->whylen, "socket: %s", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)h->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* SO_SNDTIMEO bounds connect() too. */
	if (setsockopt(h->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ==
	    -1 || setsockopt(h->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))
	    == -1 || setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) == -1 ||
	    connect(h->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		snprintf(h->why, h->whylen, "connect: %s", strerror(errno));
		http_close(h);
		return -1;
	}
	h->have = h->used = 0;
	return 0;
}

void
http_close(struct http *h)
{
	if (h->fd != -1)
		close(h->fd);
	h->fd = -1;
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
 * The head of a response, hlen bytes at h->buf: the status, the body's
 * length (Content-Length required, no chunks) and Connection: close.
 */
static int
parse_head(struct http *h, size_t hlen, int *status, size_t *clen,
    int *closing)
{
	const unsigned char	*l, *le, *end = h->buf + hlen - 2;
	const unsigned char	*b = h->buf;
	long			 n = -1;

	if (hlen > HTTP_HEAD_MAX) {
		snprintf(h->why, h->whylen, "response head over %d bytes",
		    HTTP_HEAD_MAX);
		return -1;
	}
	if (hlen < 16 || memcmp(b, "HTTP/1.", 7) != 0 || b[8] != ' ' ||
	    b[9] < '1' || b[9] > '5' || b[10] < '0' || b[10] > '9' ||
	    b[11] < '0' || b[11] > '9' || b[12] != ' ') {
		snprintf(h->why, h->whylen, "not an HTTP/1.x status line");
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
	if (n < 0 || (size_t)n > h->body_max) {
		snprintf(h->why, h->whylen, "HTTP %d: %s", *status,
		    n == -2 ? "chunked, want Content-Length" : n == -1 ?
		    "no Content-Length" : "body too large");
		return -1;
	}
	*clen = (size_t)n;
	return 0;
}

int
http_roundtrip(struct http *h, const unsigned char *msg, size_t len,
    int *status, const unsigned char **body, size_t *blen, int *closing)
{
	const unsigned char	*e;
	size_t			 off, hlen = 0, clen = 0;
	ssize_t			 n;

	/* What is left of the last read starts this response. */
	memmove(h->buf, h->buf + h->used, h->have - h->used);
	h->have -= h->used;
	h->used = 0;
	for (off = 0; off < len; off += (size_t)n)
		if ((n = send(h->fd, msg + off, len - off, MSG_NOSIGNAL)) <=
		    0) {
			snprintf(h->why, h->whylen, "send: %s",
			    n == 0 ? "nothing sent" : errno == EAGAIN ?
			    "timed out" : strerror(errno));
			return -1;
		}
	for (;;) {
		if (hlen == 0 && (e = memmem(h->buf, h->have, "\r\n\r\n",
		    4)) != NULL) {
			hlen = (size_t)(e - h->buf) + 4;
			if (parse_head(h, hlen, status, &clen, closing) != 0)
				return -1;
		}
		if (hlen == 0 && h->have >= HTTP_HEAD_MAX) {
			snprintf(h->why, h->whylen, "response head over %d "
			    "bytes", HTTP_HEAD_MAX);
			return -1;
		}
		if (hlen > 0 && h->have >= hlen + clen) {
			*body = h->buf + hlen;
			*blen = clen;
			h->used = hlen + clen;
			return 0;
		}
		if ((n = recv(h->fd, h->buf + h->have, HTTP_HEAD_MAX +
		    h->body_max - h->have, 0)) <= 0) {
			snprintf(h->why, h->whylen, "recv: %s",
			    n == 0 ? "the server closed the connection" :
			    errno == EAGAIN ? "no answer in time" :
			    strerror(errno));
			return -1;
		}
		h->have += (size_t)n;
	}
}

int
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
		return -1;
	return 0;
}

void
raw_free(struct raw *r)
{
	EVP_MD_CTX_free(r->tmp);
	EVP_MD_CTX_free(r->sctx);
	EVP_MD_CTX_free(r->vctx);
	EVP_PKEY_free(r->k);
}

long
raw_pairs(struct raw *r, double secs, double *t)
{
	unsigned char	 sig[128];
	size_t		 siglen;
	double		 t0;
	long		 n = 0;

	t0 = now();
	do {
		/* The fastest honest use: prepared contexts, copied. */
		siglen = sizeof(sig);
		if (EVP_MD_CTX_copy_ex(r->tmp, r->sctx) != 1 ||
		    EVP_DigestSign(r->tmp, sig, &siglen, r->msg,
		    sizeof(r->msg)) != 1 ||
		    EVP_MD_CTX_copy_ex(r->tmp, r->vctx) != 1 ||
		    EVP_DigestVerify(r->tmp, sig, siglen, r->msg,
		    sizeof(r->msg)) != 1)
			return -1;
		n++;
	} while ((*t = now() - t0) < secs);
	return n;
}

void
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

long
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

void
crew_args(int argc, char **argv, const char *clients, double *secs,
    int *n, char *hm, size_t hmlen)
{
	*secs = (double)number(argc > 1 ? argv[1] : "3", 1, 3600, "seconds");
	*n = (int)number(argc > 2 ? argv[2] : clients, 1, CREW_MAX,
	    "clients");
	if (argc > 3)
		snprintf(hm, hmlen, "%s", argv[3]);
	else
		default_hallmark(hm, hmlen);
	if (access(hm, X_OK) == -1)
		fail("%s: %s", hm, strerror(errno));
}

void
crew_init(struct crew *c, int n, crew_fn *one, crew_clock *cpu)
{
	memset(c, 0, sizeof(*c));
	c->one = one;
	c->cpu = cpu;
	c->n = n;
	atomic_init(&c->run, 0);
	if ((c->m = calloc((size_t)n, sizeof(*c->m))) == NULL)
		fail("out of memory");
	if (pthread_mutex_init(&c->mu, NULL) != 0 ||
	    pthread_condattr_init(&c->ca) != 0 ||
	    pthread_condattr_setclock(&c->ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&c->go, NULL) != 0 ||
	    pthread_cond_init(&c->done, &c->ca) != 0)
		fail("pthread");
}

void
crew_set(struct crew *c, int i, void *arg, struct http *conn)
{
	c->m[i].crew = c;
	c->m[i].arg = arg;
	c->m[i].conn = conn;
}

static void *
crew_main(void *arg)
{
	struct crew_member	*m = arg;
	struct crew		*c = m->crew;
	const char		*why = m->conn->why;
	unsigned		 gen = 0;
	long			 n;
	int			 quit, rc = 0;

	if (c->pin)
		pthread_setaffinity_np(pthread_self(), sizeof(c->cpus),
		    &c->cpus);
	for (;;) {
		pthread_mutex_lock(&c->mu);
		while (!c->quit && c->gen == gen)
			pthread_cond_wait(&c->go, &c->mu);
		quit = c->quit;
		gen = c->gen;
		pthread_mutex_unlock(&c->mu);
		if (quit)
			break;
		n = 0;
		while (atomic_load(&c->run) && why[0] == '\0' &&
		    (rc = c->one(m->arg)) == 0)
			n++;
		pthread_mutex_lock(&c->mu);
		c->count += n;
		if (rc == 1)
			c->dry = 1;
		if (why[0] != '\0')
			c->failed = 1;
		if (--c->busy == 0)
			pthread_cond_signal(&c->done);
		pthread_mutex_unlock(&c->mu);
	}
	http_close(m->conn);
	return NULL;
}

void
crew_start(struct crew *c)
{
	sigset_t	block, old;
	int		i;

	/* Signals go to the main thread only: it stops the run. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < c->n; i++)
		if (pthread_create(&c->m[i].th, NULL, crew_main, &c->m[i]) !=
		    0)
			fail("pthread_create");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

long
crew_slice(struct crew *c, double secs, int early, double *t, double *cpu)
{
	struct timespec	 dl;
	double		 t0, c0;
	long		 n;
	int		 i, e = 0;

	c0 = c->cpu();
	pthread_mutex_lock(&c->mu);
	c->count = 0;
	c->busy = c->n;
	c->dry = 0;
	atomic_store(&c->run, 1);
	c->gen++;
	t0 = now();
	pthread_cond_broadcast(&c->go);
	pthread_mutex_unlock(&c->mu);
	if (!early)
		sleep_for(secs);
	/* Sleep in steps: all members stopped ends the slice early. */
	while (early && now() - t0 < secs && !interrupted) {
		sleep_for(0.005);
		pthread_mutex_lock(&c->mu);
		e = c->busy == 0;
		pthread_mutex_unlock(&c->mu);
		if (e)
			break;
	}
	atomic_store(&c->run, 0);

	e = 0;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += (time_t)CREW_TIMEOUT;
	pthread_mutex_lock(&c->mu);
	while (c->busy > 0 && e == 0)
		e = pthread_cond_timedwait(&c->done, &c->mu, &dl);
	*t = now() - t0;
	n = c->count;
	c->total += n;
	pthread_mutex_unlock(&c->mu);
	*cpu = c->cpu() - c0;
	if (e != 0)
		fail("the clients still busy %.0f s after a slice",
		    CREW_TIMEOUT);
	if (c->failed)
		for (i = 0; i < c->n; i++)
			if (c->m[i].conn->why[0] != '\0')
				fail("client %d: %s", i, c->m[i].conn->why);
	return n;
}

void
crew_stop(struct crew *c)
{
	int	i;

	pthread_mutex_lock(&c->mu);
	c->quit = 1;
	pthread_cond_broadcast(&c->go);
	pthread_mutex_unlock(&c->mu);
	for (i = 0; i < c->n; i++)
		pthread_join(c->m[i].th, NULL);
}

void
crew_free(struct crew *c)
{
	free(c->m);
	c->m = NULL;
	pthread_cond_destroy(&c->go);
	pthread_cond_destroy(&c->done);
	pthread_condattr_destroy(&c->ca);
	pthread_mutex_destroy(&c->mu);
}
