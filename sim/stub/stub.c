/*
 * volctl-sim-stub: the simulated host's platform commands (zfs, zpool,
 * stmfadm, zoneadm, zonecfg, hostid, zlogin) when a resident simulator
 * serves the host (volctl-sim serve ROOT, sim/serve.go; docs/simulator.md).
 *
 * Why C: the real commands are small C programs that start in well under a
 * millisecond. A Go process per simulated command cost about 6 ms of CPU
 * before it did anything, and 64 rollbacks at once measured that instead of
 * the daemon. This stub only forwards: it connects to ROOT/sim.sock, sends
 * its root and argv, copies what the server sends to its stdout and stderr,
 * and exits with the command's status. Killing it (the daemon's timeout,
 * kill -9) closes the connection, and the server stops the command as the
 * kernel would stop a killed process.
 *
 * With no server (no socket, nobody listening, or the server answers "run
 * it yourself") it execs volctl-sim, the Go multi-call binary beside it,
 * with the same argv: the command then runs as a process of its own, as
 * before the server existed.
 *
 * It is built without the C library where it can be (nolibc.h: Linux on
 * x86-64, -DSTUB_NOLIBC): a static glibc program spends about as long
 * starting as this one does forwarding. Elsewhere it is an ordinary C
 * program; the code below uses only the calls both provide.
 *
 * Wire format (all integers big-endian uint32):
 *   request: count, then count strings (length, bytes): root, argv[0..]
 *   reply frames: one byte kind, length, bytes
 *     '1' stdout bytes, '2' stderr bytes, 'x' exit status (4 bytes, int32),
 *     'f' fall back to the Go binary (no payload).
 */
#ifdef STUB_NOLIBC
#include "nolibc.h"
#else
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void ignore_sigpipe(int ignore) { signal(SIGPIPE, ignore ? SIG_IGN : SIG_DFL); }
static int err_no(void) { return errno; }
#endif

#define SOCKNAME "sim.sock"
#define GOBINARY "volctl-sim"
#define PATHMAX 4096

static unsigned long slen(const char *s)
{
	unsigned long n = 0;
	while (s[n] != '\0')
		n++;
	return n;
}

static char *slast(char *s, char c)
{
	char *last = 0;
	for (; *s != '\0'; s++)
		if (*s == c)
			last = s;
	return last;
}

static int shas(const char *s, char c)
{
	for (; *s != '\0'; s++)
		if (*s == c)
			return 1;
	return 0;
}

/* scat appends src to dst (of size), 0 when it does not fit. */
static int scat(char *dst, unsigned long size, const char *src)
{
	unsigned long d = slen(dst), n = slen(src);
	if (d + n + 1 > size)
		return 0;
	for (unsigned long i = 0; i <= n; i++)
		dst[d + i] = src[i];
	return 1;
}

static int writefull(int fd, const void *b, unsigned long n)
{
	const char *c = b;
	while (n > 0) {
		long w = write(fd, c, n);
		if (w < 0 && err_no() == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (unsigned long)w;
	}
	return 0;
}

static int readfull(int fd, void *b, unsigned long n)
{
	char *c = b;
	while (n > 0) {
		long r = read(fd, c, n);
		if (r < 0 && err_no() == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (unsigned long)r;
	}
	return 0;
}

/* say writes its strings (up to a NULL) to stderr. */
static void say(const char *a, const char *b, const char *c, const char *d)
{
	const char *s[] = {a, b, c, d};
	for (int i = 0; i < 4 && s[i] != 0; i++)
		(void)writefull(2, s[i], slen(s[i]));
}

static const char *num(unsigned int v, char buf[12])
{
	char *p = buf + 11;
	*p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	return p;
}

static void fallback(char **argv, char **envp)
{
	char exe[PATHMAX];
	char n[12];
	long l = readlink("/proc/self/exe", exe, sizeof exe - sizeof GOBINARY - 2);
	if (l <= 0) {
		say("volctl-sim-stub: readlink /proc/self/exe: errno ", num((unsigned)err_no(), n), "\n", 0);
		_exit(127);
	}
	exe[l] = '\0';
	char *slash = slast(exe, '/');
	if (slash == 0) {
		say("volctl-sim-stub: cannot place " GOBINARY " beside ", exe, "\n", 0);
		_exit(127);
	}
	slash[1] = '\0';
	(void)scat(exe, sizeof exe, GOBINARY);
	ignore_sigpipe(0); /* an ignored signal would stay so across exec */
	execve(exe, argv, envp);
	say("volctl-sim-stub: exec ", exe, ": errno ", num((unsigned)err_no(), n));
	say("\n", 0, 0, 0);
	_exit(127);
}

static const char *getvar(char **envp, const char *name)
{
	unsigned long n = slen(name);
	for (; *envp != 0; envp++) {
		unsigned long i = 0;
		while (i < n && (*envp)[i] == name[i])
			i++;
		if (i == n && (*envp)[n] == '=')
			return *envp + n + 1;
	}
	return 0;
}

/* rootof writes ROOT into buf: $VOLCTL_SIM_ROOT, else three directories
 * above the command's path ROOT/usr/sbin/NAME, as sim.rootOf does. 0 when
 * it cannot tell (the Go binary then finds it, or says why not). */
static int rootof(const char *argv0, char **envp, char *buf, unsigned long size)
{
	const char *env = getvar(envp, "VOLCTL_SIM_ROOT");
	const char *p = (env != 0 && *env != '\0') ? env : argv0;
	if (p != env && !shas(p, '/'))
		return 0; /* found on $PATH: left to the Go binary */
	buf[0] = '\0';
	if (p[0] != '/') {
		if (getcwd(buf, size) == 0 || !scat(buf, size, "/"))
			return 0;
	}
	if (!scat(buf, size, p))
		return 0;
	if (p == env)
		return 1;
	for (int i = 0; i < 3; i++) {
		char *slash = slast(buf, '/');
		if (slash == 0 || slash == buf)
			return 0;
		*slash = '\0';
	}
	return 1;
}

/* dial connects to ROOT/sim.sock; -1 when nobody listens there. A path
 * too long for sun_path is reached from inside ROOT. */
static int dial(const char *root)
{
	struct sockaddr_un sa;
	char *z = (char *)&sa;
	for (unsigned long i = 0; i < sizeof sa; i++)
		z[i] = 0;
	sa.sun_family = AF_UNIX;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int rc;
	if (slen(root) + 1 + sizeof SOCKNAME <= sizeof sa.sun_path) {
		(void)scat(sa.sun_path, sizeof sa.sun_path, root);
		(void)scat(sa.sun_path, sizeof sa.sun_path, "/" SOCKNAME);
		rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	} else {
		int here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (here < 0 || chdir(root) < 0) {
			close(fd);
			if (here >= 0)
				close(here);
			return -1;
		}
		(void)scat(sa.sun_path, sizeof sa.sun_path, SOCKNAME);
		rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
		if (fchdir(here) < 0) {
			say("volctl-sim-stub: cannot go back to the working directory\n", 0, 0, 0);
			_exit(127);
		}
		close(here);
	}
	if (rc < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The request goes in one write; argv of the platform commands is short,
 * and a longer one is left to the Go binary. */
static char req[65536];

static int put(char **p, const void *b, unsigned long n)
{
	if ((unsigned long)(req + sizeof req - *p) < n)
		return -1;
	const char *c = b;
	for (unsigned long i = 0; i < n; i++)
		(*p)[i] = c[i];
	*p += n;
	return 0;
}

static int put32(char **p, unsigned int v)
{
	unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
	return put(p, b, 4);
}

static int putstr(char **p, const char *s)
{
	unsigned long n = slen(s);
	if (put32(p, (unsigned int)n) < 0)
		return -1;
	return put(p, s, n);
}

static char buf[65536];

int main(int argc, char **argv, char **envp)
{
	char root[PATHMAX];
	ignore_sigpipe(1);
	if (argc < 1 || !rootof(argv[0], envp, root, sizeof root))
		fallback(argv, envp);

	char *p = req;
	if (put32(&p, (unsigned int)argc + 1) < 0 || putstr(&p, root) < 0)
		fallback(argv, envp);
	for (int i = 0; i < argc; i++)
		if (putstr(&p, argv[i]) < 0)
			fallback(argv, envp);
	int fd = dial(root);
	if (fd < 0)
		fallback(argv, envp);
	if (writefull(fd, req, (unsigned long)(p - req)) < 0)
		fallback(argv, envp); /* nothing was read: the server did not start it */

	for (;;) {
		unsigned char h[5];
		if (readfull(fd, h, sizeof h) < 0)
			break;
		unsigned int n = (unsigned int)h[1] << 24 | (unsigned int)h[2] << 16 | (unsigned int)h[3] << 8 | h[4];
		if (h[0] == 'f' && n == 0) {
			close(fd);
			fallback(argv, envp);
		}
		if (h[0] == 'x' && n == 4) {
			unsigned char c[4];
			if (readfull(fd, c, 4) < 0)
				break;
			_exit(c[3]); /* the status's low byte, as exit(3) keeps */
		}
		if ((h[0] != '1' && h[0] != '2') || n > sizeof buf) {
			say(argv[0], ": simulator: bad frame from the server\n", 0, 0);
			_exit(1);
		}
		if (readfull(fd, buf, n) < 0)
			break;
		/* Output to a reader that is gone (a daemon killed under the
		 * command) is dropped and the command goes on: the server has
		 * acted already or acts anyway, so the stub must not pretend it
		 * stopped it (the worst case for the daemon's recovery, which its
		 * crash tests want). */
		(void)writefull(h[0] == '1' ? 1 : 2, buf, n);
	}
	say(argv[0], ": simulator: the server closed the connection before the command ended\n", 0, 0);
	_exit(1);
}
