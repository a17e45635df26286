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
 * Wire format (all integers big-endian uint32):
 *   request: count, then count strings (length, bytes): root, argv[0..]
 *   reply frames: one byte kind, length, bytes
 *     '1' stdout bytes, '2' stderr bytes, 'x' exit status (4 bytes, int32),
 *     'f' fall back to the Go binary (no payload).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SOCKNAME "sim.sock"
#define GOBINARY "volctl-sim"

static void fallback(char **argv)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - sizeof GOBINARY - 2);
	if (n <= 0) {
		perror("volctl-sim-stub: readlink /proc/self/exe");
		exit(127);
	}
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash == NULL) {
		fprintf(stderr, "volctl-sim-stub: cannot place %s beside %s\n", GOBINARY, exe);
		exit(127);
	}
	strcpy(slash + 1, GOBINARY);
	signal(SIGPIPE, SIG_DFL); /* an ignored signal would stay so across exec */
	execv(exe, argv);
	fprintf(stderr, "volctl-sim-stub: exec %s: %s\n", exe, strerror(errno));
	exit(127);
}

static int put(char **p, char *end, const void *b, size_t n)
{
	if ((size_t)(end - *p) < n)
		return -1;
	memcpy(*p, b, n);
	*p += n;
	return 0;
}

static int put32(char **p, char *end, uint32_t v)
{
	unsigned char b[4] = {v >> 24, v >> 16, v >> 8, v};
	return put(p, end, b, 4);
}

static int putstr(char **p, char *end, const char *s)
{
	size_t n = strlen(s);
	if (put32(p, end, (uint32_t)n) < 0)
		return -1;
	return put(p, end, s, n);
}

static int readfull(int fd, void *b, size_t n)
{
	char *c = b;
	while (n > 0) {
		ssize_t r = read(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static int writefull(int fd, const void *b, size_t n)
{
	const char *c = b;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* rootof writes ROOT into buf: $VOLCTL_SIM_ROOT, else three directories
 * above the command's path ROOT/usr/sbin/NAME, as sim.rootOf does. 0 when
 * it cannot tell (the Go binary then finds it, or says why not). */
static int rootof(const char *argv0, char *buf, size_t size)
{
	const char *env = getenv("VOLCTL_SIM_ROOT");
	const char *p = (env != NULL && *env != '\0') ? env : argv0;
	if (p != env && strchr(p, '/') == NULL)
		return 0; /* found on $PATH: left to the Go binary */
	if (p[0] == '/') {
		if (strlen(p) >= size)
			return 0;
		strcpy(buf, p);
	} else {
		if (getcwd(buf, size) == NULL || strlen(buf) + 1 + strlen(p) >= size)
			return 0;
		strcat(buf, "/");
		strcat(buf, p);
	}
	if (p == env)
		return 1;
	for (int i = 0; i < 3; i++) {
		char *slash = strrchr(buf, '/');
		if (slash == NULL || slash == buf)
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
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int rc;
	if (strlen(root) + 1 + sizeof SOCKNAME <= sizeof sa.sun_path) {
		snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", root, SOCKNAME);
		rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	} else {
		int here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (here < 0 || chdir(root) < 0) {
			close(fd);
			if (here >= 0)
				close(here);
			return -1;
		}
		strcpy(sa.sun_path, SOCKNAME);
		rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
		if (fchdir(here) < 0) {
			perror("volctl-sim-stub: back to the working directory");
			exit(127);
		}
		close(here);
	}
	if (rc < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	char root[PATH_MAX];
	signal(SIGPIPE, SIG_IGN);
	if (argc < 1 || !rootof(argv[0], root, sizeof root))
		fallback(argv);
	int fd = dial(root);
	if (fd < 0)
		fallback(argv);

	size_t size = 8 + strlen(root) + 4;
	for (int i = 0; i < argc; i++)
		size += 4 + strlen(argv[i]);
	char *req = malloc(size), *p = req, *end = req + size;
	if (req == NULL || put32(&p, end, (uint32_t)argc + 1) < 0 || putstr(&p, end, root) < 0)
		fallback(argv);
	for (int i = 0; i < argc; i++)
		if (putstr(&p, end, argv[i]) < 0)
			fallback(argv);
	if (writefull(fd, req, (size_t)(p - req)) < 0)
		fallback(argv); /* nothing was read: the server did not start it */
	free(req);

	char buf[65536];
	for (;;) {
		unsigned char h[5];
		if (readfull(fd, h, sizeof h) < 0)
			break;
		uint32_t n = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 | h[4];
		if (h[0] == 'f' && n == 0) {
			close(fd);
			fallback(argv);
		}
		if (h[0] == 'x' && n == 4) {
			unsigned char c[4];
			if (readfull(fd, c, 4) < 0)
				break;
			int32_t code = (int32_t)((uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3]);
			exit(code & 0xff);
		}
		if ((h[0] != '1' && h[0] != '2') || n > sizeof buf) {
			fprintf(stderr, "%s: simulator: bad frame from the server (kind %d, %u bytes)\n", argv[0], h[0], n);
			exit(1);
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
	fprintf(stderr, "%s: simulator: the server closed the connection before the command ended\n", argv[0]);
	exit(1);
}
