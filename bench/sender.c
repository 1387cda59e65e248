/*
 * nftknock bench sender. Built by bench/run.ts into a temp dir (never committed). Every loop is
 * bounded in count and time.
 *
 *   sender latency DST SRC PROBE_PORT TIMEOUT_MS STEP...
 *     STEP is PORT:tcp (a SYN from a non-blocking connect, as knockd's `knock` sends it), PORT:udp
 *     (an empty datagram) or PORT:udp:HEX (a datagram with that payload: SPA). All from SRC.
 *     After the last step it connects to PROBE_PORT every 0.2 ms (a fresh socket each time, the
 *     previous SYN having been dropped), keeping the last PROBE_WINDOW probes open, until one is
 *     accepted. Prints "ok MICROSECONDS" (from the call that sends the last step) or "timeout".
 *
 *   sender knock DST SRC STEP...
 *     Sends the steps as `latency` does, then prints "t0 NANOSECONDS": CLOCK_MONOTONIC read before
 *     the call that sends the last step (the same clock in every network namespace), for the bench
 *     to compare with the time a door keeper's log line about it arrives.
 *
 *   sender flood DST MODE PPS SECONDS COUNT SPOOF_BASE SPOOF_BITS [PORT:proto ...]
 *     Raw IPv4 packets with spoofed sources SPOOF_BASE + (i mod 2^SPOOF_BITS), sent with sendmmsg in
 *     batches of 64. MODE "ports": TCP SYN to random ports 1024-65535 other than the listed ones;
 *     "knock": the listed PORT:proto at random; "first": the first listed one only (each source
 *     once, in order). PPS 0 = as fast as possible. Stops after SECONDS or COUNT packets.
 *     Prints "sent N SECONDS PPS".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int die(const char *what) {
	perror(what);
	return 1;
}

static struct sockaddr_in addr_of(const char *ip, int port) {
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "bad address %s\n", ip);
		exit(2);
	}
	return a;
}

/* A socket bound to SRC (port chosen by the kernel). */
static int bound(int type, const char *src) {
	int s = socket(AF_INET, type | SOCK_NONBLOCK, 0);
	if (s < 0) return -1;
	struct sockaddr_in a = addr_of(src, 0);
	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
		close(s);
		return -1;
	}
	return s;
}

static int hexval(char c) {
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int send_step(const char *dst, const char *src, const char *step) {
	char proto[8] = "tcp";
	int port = 0, n = 0;
	if (sscanf(step, "%d:%7[a-z]%n", &port, proto, &n) < 1) return -1;
	if (strcmp(proto, "tcp") == 0) {
		struct sockaddr_in d = addr_of(dst, port);
		int s = bound(SOCK_STREAM, src);
		if (s < 0) return -1;
		connect(s, (struct sockaddr *)&d, sizeof d); /* EINPROGRESS: the SYN is out */
		close(s);
		return 0;
	}
	unsigned char buf[1024];
	size_t len = 0;
	const char *hex = step[n] == ':' ? step + n + 1 : "";
	for (; hex[0] && hex[1] && len < sizeof buf; hex += 2) buf[len++] = (unsigned char)(hexval(hex[0]) << 4 | hexval(hex[1]));
	struct sockaddr_in d = addr_of(dst, port);
	int s = bound(SOCK_DGRAM, src);
	if (s < 0) return -1;
	ssize_t r = sendto(s, buf, len, 0, (struct sockaddr *)&d, sizeof d);
	close(s);
	return r < 0 ? -1 : 0;
}

/*
 * Probes stay open for PROBE_WINDOW probes (about 50 ms at one per 0.2 ms) before they are given up:
 * a probe closed 0.2 ms after its SYN would throw away a SYN-ACK that arrives later, and on a loaded
 * machine (a flood, other processes on the 2 cores) the handshake alone can take longer than that.
 */
enum { PROBE_WINDOW = 256 };

static int latency(int argc, char **argv) {
	if (argc < 7) return 2;
	const char *dst = argv[2], *src = argv[3];
	int probe = atoi(argv[4]);
	double limit = atof(argv[5]) / 1000.0;
	/* t0 is taken before the last knock's send call, not after it: on a loaded machine that call
	 * can itself run the receive path (softirq work on the way out of the syscall), and a t0 taken
	 * after it would hide the door keeper's work done meanwhile. */
	double t0 = 0;
	for (int i = 6; i < argc; i++) {
		if (i == argc - 1) t0 = now_s();
		if (send_step(dst, src, argv[i]) < 0) return die(argv[i]);
	}
	struct sockaddr_in d = addr_of(dst, probe);
	struct timespec slice = {0, 200000};
	struct pollfd open_[PROBE_WINDOW];
	int n = 0, oldest = 0; /* a ring: open_[oldest] is the oldest of the n open probes */
	for (long tries = 0; tries < 200000 && now_s() - t0 < limit; tries++) {
		if (n == PROBE_WINDOW) {
			close(open_[oldest].fd);
			open_[oldest].fd = -1;
			oldest = (oldest + 1) % PROBE_WINDOW;
			n--;
		}
		int s = bound(SOCK_STREAM, src);
		if (s < 0) return die("probe socket");
		connect(s, (struct sockaddr *)&d, sizeof d);
		int slot = (oldest + n) % PROBE_WINDOW;
		open_[slot] = (struct pollfd){s, POLLOUT, 0};
		n++;
		struct pollfd all[PROBE_WINDOW];
		for (int i = 0; i < n; i++) all[i] = open_[(oldest + i) % PROBE_WINDOW];
		if (ppoll(all, (nfds_t)n, &slice, NULL) <= 0) continue;
		for (int i = 0; i < n; i++) {
			if (!all[i].revents) continue;
			int err = 0;
			socklen_t l = sizeof err;
			getsockopt(all[i].fd, SOL_SOCKET, SO_ERROR, &err, &l);
			if (err == 0 && (all[i].revents & POLLOUT)) {
				double t1 = now_s();
				for (int j = 0; j < n; j++) close(all[j].fd);
				printf("ok %.0f\n", (t1 - t0) * 1e6);
				return 0;
			}
			/* refused or reset: closed now; poll skips a negative fd and close(-1) is harmless */
			close(all[i].fd);
			open_[(oldest + i) % PROBE_WINDOW].fd = -1;
		}
	}
	for (int i = 0; i < n; i++) close(open_[(oldest + i) % PROBE_WINDOW].fd);
	printf("timeout\n");
	return 0;
}

static int knock_only(int argc, char **argv) {
	if (argc < 5) return 2;
	struct timespec t0 = {0, 0};
	for (int i = 4; i < argc; i++) {
		if (i == argc - 1) clock_gettime(CLOCK_MONOTONIC, &t0);
		if (send_step(argv[2], argv[3], argv[i]) < 0) return die(argv[i]);
	}
	printf("t0 %lld\n", (long long)t0.tv_sec * 1000000000LL + t0.tv_nsec);
	return 0;
}

static uint16_t csum(const void *data, size_t len, uint32_t sum) {
	const uint8_t *b = data;
	for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1) sum += (uint32_t)(b[len - 1] << 8);
	while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

struct step { int port; int udp; };

/* One spoofed packet (IPv4 + TCP SYN or UDP, checksums filled) into pkt; returns its length. */
static size_t build(uint8_t *pkt, uint32_t src, uint32_t dst, struct step st, uint32_t rnd) {
	size_t l4 = st.udp ? 8 : 20, len = 20 + l4;
	memset(pkt, 0, len);
	struct iphdr *ip = (struct iphdr *)pkt;
	ip->version = 4; ip->ihl = 5; ip->ttl = 64; ip->tot_len = htons((uint16_t)len);
	ip->id = htons((uint16_t)rnd); ip->protocol = st.udp ? IPPROTO_UDP : IPPROTO_TCP;
	ip->saddr = htonl(src); ip->daddr = dst;
	uint8_t *t = pkt + 20;
	uint32_t sport = 1024 + (rnd >> 16) % 60000;
	t[0] = (uint8_t)(sport >> 8); t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(st.port >> 8); t[3] = (uint8_t)st.port;
	if (st.udp) { t[4] = 0; t[5] = 8; }
	else { memcpy(t + 4, &rnd, 4); t[12] = 5 << 4; t[13] = 0x02; t[14] = 0xfa; t[15] = 0xf0; }
	uint8_t ph[12];
	memcpy(ph, &ip->saddr, 4); memcpy(ph + 4, &ip->daddr, 4);
	ph[8] = 0; ph[9] = ip->protocol; ph[10] = 0; ph[11] = (uint8_t)l4;
	uint32_t s = 0;
	for (int i = 0; i < 12; i += 2) s += (uint32_t)(ph[i] << 8 | ph[i + 1]);
	uint16_t c = csum(t, l4, s);
	t[st.udp ? 6 : 16] = (uint8_t)(c >> 8); t[st.udp ? 7 : 17] = (uint8_t)c;
	return len;
}

static int flood(int argc, char **argv) {
	if (argc < 9) return 2;
	struct sockaddr_in d = addr_of(argv[2], 0);
	const char *mode = argv[3];
	double pps = atof(argv[4]), secs = atof(argv[5]);
	long count = atol(argv[6]);
	uint32_t base = ntohl(addr_of(argv[7], 0).sin_addr.s_addr), span = 1u << atoi(argv[8]);
	struct step steps[16];
	int nsteps = 0;
	for (int i = 9; i < argc && nsteps < 16; i++) {
		char p[8] = "tcp";
		sscanf(argv[i], "%d:%7s", &steps[nsteps].port, p);
		steps[nsteps++].udp = strcmp(p, "udp") == 0;
	}
	int s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (s < 0) return die("raw socket");
	int sndbuf = 4 << 20;
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	enum { B = 64 };
	static uint8_t pkts[B][64];
	struct iovec iov[B];
	struct mmsghdr msgs[B];
	uint32_t rnd = 2463534242u;
	long sent = 0;
	double t0 = now_s(), t = t0;
	while (sent < count && (t = now_s()) - t0 < secs) {
		if (pps > 0 && sent > (t - t0) * pps) {
			struct timespec w = {0, 50000};
			nanosleep(&w, NULL);
			continue;
		}
		int n = 0;
		for (; n < B && sent + n < count; n++) {
			rnd ^= rnd << 13; rnd ^= rnd >> 17; rnd ^= rnd << 5;
			struct step st;
			if (strcmp(mode, "ports") == 0) {
				st.udp = 0;
				st.port = 1024 + (int)(rnd % 64512);
				for (int k = 0; k < nsteps; k++) if (steps[k].port == st.port) st.port++;
			} else if (strcmp(mode, "first") == 0) st = steps[0];
			else st = steps[rnd % (uint32_t)(nsteps ? nsteps : 1)];
			uint32_t src = base + (uint32_t)((sent + n) % span);
			if ((src & 0xff) == 0 || (src & 0xff) == 255) src ^= 1;
			iov[n].iov_base = pkts[n];
			iov[n].iov_len = build(pkts[n], src, d.sin_addr.s_addr, st, rnd);
			memset(&msgs[n], 0, sizeof msgs[n]);
			msgs[n].msg_hdr.msg_name = &d;
			msgs[n].msg_hdr.msg_namelen = sizeof d;
			msgs[n].msg_hdr.msg_iov = &iov[n];
			msgs[n].msg_hdr.msg_iovlen = 1;
		}
		int r = sendmmsg(s, msgs, (unsigned)n, 0);
		if (r < 0) {
			if (errno == ENOBUFS || errno == EAGAIN) continue;
			return die("sendmmsg");
		}
		sent += r;
	}
	double el = now_s() - t0;
	printf("sent %ld %.3f %.0f\n", sent, el, el > 0 ? sent / el : 0);
	return 0;
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "latency") == 0) return latency(argc, argv);
	if (argc > 1 && strcmp(argv[1], "flood") == 0) return flood(argc, argv);
	if (argc > 1 && strcmp(argv[1], "knock") == 0) return knock_only(argc, argv);
	fprintf(stderr, "usage: sender latency DST SRC PROBE_PORT TIMEOUT_MS STEP... | sender knock DST SRC STEP... | sender flood DST MODE PPS SECONDS COUNT SPOOF_BASE SPOOF_BITS [PORT:proto...]\n");
	return 2;
}
