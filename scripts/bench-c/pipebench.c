// pipebench: the C baseline for scripts/bench. Each mode forks a child,
// moves bytes from the parent to the child through a pipe, and prints one
// result line:
//
//   pipebench throughput CHUNK PIPESIZE TOTAL   write(2)/read(2) loops
//   pipebench pingpong ROUNDS                    1-byte round trips, two pipes
//   pipebench vmsplice-read PIPESIZE TOTAL       vmsplice(2) -> read(2)
//   pipebench vmsplice-null PIPESIZE TOTAL       vmsplice(2) -> splice(2) to /dev/null
//
// PIPESIZE 0 keeps the kernel's default pipe size. All descriptors are in
// blocking mode. Timing starts once the child is running (it sends one
// byte on a second pipe) and ends when the child reports, on that pipe,
// that it has consumed every byte. The throughput and vmsplice lines also
// give the context switches of both processes per chunk while the bytes
// flowed (getrusage): vcsw/chunk the voluntary ones, wakeups/chunk all.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
	perror(what);
	exit(1);
}

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void xpipe(int p[2], long size) {
	if (pipe(p) < 0)
		die("pipe");
	if (size > 0 && fcntl(p[1], F_SETPIPE_SZ, (int)size) < 0)
		die("F_SETPIPE_SZ");
}

static void writeall(int fd, const void *buf, size_t n) {
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		p += w;
		n -= (size_t)w;
	}
}

static void readall(int fd, void *buf, size_t n) {
	char *p = buf;
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		if (r == 0) {
			fprintf(stderr, "unexpected EOF\n");
			exit(1);
		}
		p += r;
		n -= (size_t)r;
	}
}

// switches stores the voluntary and involuntary context switches of this
// process so far in csw.
static void switches(uint64_t csw[2]) {
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) < 0)
		die("getrusage");
	csw[0] = (uint64_t)ru.ru_nvcsw;
	csw[1] = (uint64_t)ru.ru_nivcsw;
}

// sink is the child of the throughput modes: it drains data[0] with how
// ("read" or "splice") and reports the byte count on ack[1].
static void sink(int data[2], int ack[2], size_t chunk, const char *how) {
	close(data[1]);
	close(ack[0]);
	char *buf = malloc(chunk);
	int null = open("/dev/null", O_WRONLY);
	if (buf == NULL || null < 0)
		die("sink setup");
	writeall(ack[1], "r", 1);
	uint64_t csw0[2], csw1[2];
	switches(csw0);
	uint64_t total = 0;
	for (;;) {
		ssize_t n;
		if (strcmp(how, "splice") == 0)
			n = splice(data[0], NULL, null, NULL, 1 << 30, SPLICE_F_MOVE);
		else
			n = read(data[0], buf, chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die(how);
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
	}
	switches(csw1);
	uint64_t report[3] = {total, csw1[0] - csw0[0], csw1[1] - csw0[1]};
	writeall(ack[1], report, sizeof report);
	_exit(0);
}

// transfer forks a sink, then sends total bytes in chunks with write(2) or
// vmsplice(2), and prints the rate.
static int transfer(const char *mode, size_t chunk, long pipesize, uint64_t total, int vmsplice_src, const char *how) {
	int data[2], ack[2];
	xpipe(data, pipesize);
	xpipe(ack, 0);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		sink(data, ack, chunk, how);
	close(data[0]);
	close(ack[1]);
	char *buf = aligned_alloc(4096, chunk);
	if (buf == NULL)
		die("malloc");
	memset(buf, 'x', chunk);
	char ready;
	readall(ack[0], &ready, 1);
	uint64_t csw0[2], csw1[2];
	switches(csw0);
	double t0 = now();
	uint64_t sent = 0;
	while (sent < total) {
		size_t n = chunk;
		if (total - sent < n)
			n = (size_t)(total - sent);
		if (vmsplice_src) {
			// The pages are only referenced: buf is never written again.
			struct iovec iov = {buf, n};
			while (iov.iov_len > 0) {
				ssize_t w = vmsplice(data[1], &iov, 1, 0);
				if (w < 0) {
					if (errno == EINTR)
						continue;
					die("vmsplice");
				}
				iov.iov_base = (char *)iov.iov_base + w;
				iov.iov_len -= (size_t)w;
			}
		} else {
			writeall(data[1], buf, n);
		}
		sent += n;
	}
	close(data[1]);
	uint64_t report[3];
	readall(ack[0], report, sizeof report);
	double secs = now() - t0;
	switches(csw1);
	uint64_t got = report[0];
	// Both processes' switches per chunk: voluntary ones (a sleep, ended by
	// a wake-up), and those plus preemptions.
	double chunks = (double)((total + chunk - 1) / chunk);
	double vol = (double)(csw1[0] - csw0[0] + report[1]);
	double all = vol + (double)(csw1[1] - csw0[1] + report[2]);
	waitpid(pid, NULL, 0);
	if (got != total) {
		fprintf(stderr, "child got %llu of %llu bytes\n", (unsigned long long)got, (unsigned long long)total);
		return 1;
	}
	printf("%s chunk=%zu pipe=%ld bytes=%llu secs=%.6f vcsw/chunk=%.3f wakeups/chunk=%.3f MiB/s=%.1f\n", mode, chunk,
	       pipesize, (unsigned long long)total, secs, vol / chunks, all / chunks, total / secs / 1048576.0);
	return 0;
}

static int pingpong(long rounds) {
	int down[2], up[2];
	xpipe(down, 0);
	xpipe(up, 0);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(down[1]);
		close(up[0]);
		char b;
		for (;;) {
			ssize_t n = read(down[0], &b, 1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				_exit(n < 0);
			b++;
			writeall(up[1], &b, 1);
		}
	}
	close(down[0]);
	close(up[1]);
	char b = 0;
	// One round trip first, so that the child is running when timing starts.
	writeall(down[1], &b, 1);
	readall(up[0], &b, 1);
	double t0 = now();
	for (long i = 0; i < rounds; i++) {
		char want = (char)(b + 1);
		writeall(down[1], &b, 1);
		readall(up[0], &b, 1);
		if (b != want) {
			fprintf(stderr, "bad reply\n");
			return 1;
		}
	}
	double secs = now() - t0;
	close(down[1]);
	waitpid(pid, NULL, 0);
	printf("pingpong rounds=%ld secs=%.6f us/rtt=%.3f\n", rounds, secs, secs / rounds * 1e6);
	return 0;
}

int main(int argc, char **argv) {
	if (argc == 5 && strcmp(argv[1], "throughput") == 0)
		return transfer("throughput", strtoul(argv[2], NULL, 10), strtol(argv[3], NULL, 10), strtoull(argv[4], NULL, 10), 0, "read");
	if (argc == 3 && strcmp(argv[1], "pingpong") == 0)
		return pingpong(strtol(argv[2], NULL, 10));
	if (argc == 4 && (strcmp(argv[1], "vmsplice-read") == 0 || strcmp(argv[1], "vmsplice-null") == 0)) {
		long pipesize = strtol(argv[2], NULL, 10);
		// Hand the kernel one pipe-full at a time.
		size_t chunk = pipesize > 0 ? (size_t)pipesize : 65536;
		const char *how = strcmp(argv[1], "vmsplice-read") == 0 ? "read" : "splice";
		return transfer(argv[1], chunk, pipesize, strtoull(argv[3], NULL, 10), 1, how);
	}
	fprintf(stderr, "usage: pipebench throughput CHUNK PIPESIZE TOTAL | pingpong ROUNDS | vmsplice-read|vmsplice-null PIPESIZE TOTAL\n");
	return 2;
}
