/*
 * Connection guard: per-address connection limits and request deadlines that trickling
 * cannot extend, for the public listener (issue 14).
 *
 * libmicrohttpd's own limits are a global connection count and an idle timeout that every
 * received byte resets, so ~1,025 idle or byte-trickling connections from one address
 * stopped all service. Here:
 * - every connection is counted under its address key, an IPv4 address or an IPv6 /64 (one
 *   host or one customer LAN usually has a whole /64; MHD's per-IP limit counts /128s). The
 *   accept policy callback refuses a key at its limit before MHD allocates anything; the
 *   count itself is kept from MHD's connection notifications (STARTED/CLOSED always pair,
 *   the policy callback does not), and a connection that STARTED over the limit (threads
 *   racing past the policy check) is cut at once, so the limit is exact. Peers inside
 *   [server] trusted_proxies are not limited: behind a proxy every client has its address.
 * - each connection is in one phase: waiting for a request's headers (from the accept or
 *   the previous answer: header_timeout_s in all, however the bytes trickle), receiving
 *   a body (after body_timeout_s it must have averaged body_min_rate bytes per second, and
 *   so must every later window of body_timeout_s: bytes sent fast early buy no trickling
 *   later), or
 *   busy (the handler and the answer: MHD's idle timeout applies). A sweeper thread cuts
 *   what is past its deadline with shutdown(2); MHD then sees the end of the stream and
 *   closes the connection the usual way (an upload in progress is aborted and recorded with
 *   the reason "timeout").
 *
 * SECURITY: the fd is shut down only under the guard's lock and only while the connection
 * is in the table; MHD removes it (NOTIFY_CLOSED) before it closes the fd (daemon.c,
 * MHD_cleanup_connections), so a reused descriptor is never touched. Memory is bounded by
 * the connections MHD holds (one entry per connection, one counter per key in use).
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "core/limits.h"
#include "core/log.h"
#include "http/http_int.h"

struct guard_key {
	uint8_t family;                /* 4 or 6 */
	unsigned char addr[8];         /* IPv4 address, or the IPv6 /64 prefix */
};

struct addr_count {
	struct addr_count *next;
	struct guard_key key;
	unsigned n;
};

enum guard_phase { PHASE_HEADERS, PHASE_BODY, PHASE_BUSY };

struct guard_conn {
	struct guard_conn *prev, *next;
	struct guard_key key;
	bool counted;                  /* in an addr_count (not a trusted proxy) */
	int fd;
	enum guard_phase phase;
	int64_t since_us;              /* start of the phase */
	uint64_t body_bytes;
	int64_t window_us;             /* body: start of the current rate window */
	uint64_t window_bytes;         /* body: body_bytes at window_us */
	const char *cut;               /* why the guard cut it; NULL while it did not */
};

struct guard {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t sweeper;
	bool sweeper_running, stop;
	struct guard_conn *conns;
	struct addr_count *buckets[KURA_GUARD_BUCKETS];
	unsigned per_address;
	int64_t header_us, body_grace_us;
	uint64_t body_rate;
	const struct ipnet *exempt;
	size_t n_exempt;
	int64_t last_refusal_log_us;
	uint64_t n_refused_since_log;
};

/* Deadlines run on the monotonic clock (the wall clock may jump; tests shift it). */
static int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* False for address families other than IPv4 and IPv6 (not limited: not on our listener). */
static bool key_of(const struct sockaddr *sa, struct guard_key *ret, struct ipnet *ret_net)
{
	memset(ret, 0, sizeof(*ret));
	memset(ret_net, 0, sizeof(*ret_net));
	if (sa && sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		ret->family = 4;
		memcpy(ret->addr, &in->sin_addr, 4);
		ret_net->family = 4;
		ret_net->prefix = 32;
		memcpy(ret_net->addr, &in->sin_addr, 4);
		return true;
	}
	if (sa && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		ret->family = 6;
		memcpy(ret->addr, &in6->sin6_addr, 8);
		ret_net->family = 6;
		ret_net->prefix = 128;
		memcpy(ret_net->addr, &in6->sin6_addr, 16);
		return true;
	}
	return false;
}

static bool is_exempt(const struct guard *g, const struct ipnet *addr)
{
	size_t i;

	for (i = 0; i < g->n_exempt; i++)
		if (ipnet_contains(&g->exempt[i], addr))
			return true;
	return false;
}

static size_t bucket_of(const struct guard_key *k)
{
	uint32_t h = 2166136261u;   /* FNV-1a */
	size_t i;

	h = (h ^ k->family) * 16777619u;
	for (i = 0; i < sizeof(k->addr); i++)
		h = (h ^ k->addr[i]) * 16777619u;
	return h % KURA_GUARD_BUCKETS;
}

/* Under g->lock. */
static struct addr_count *count_find(struct guard *g, const struct guard_key *k)
{
	struct addr_count *c;

	for (c = g->buckets[bucket_of(k)]; c; c = c->next)
		if (c->key.family == k->family && !memcmp(c->key.addr, k->addr, sizeof(k->addr)))
			return c;
	return NULL;
}

static void key_text(const struct guard_key *k, char *buf, size_t size)
{
	unsigned char a[16] = { 0 };

	if (k->family == 4) {
		inet_ntop(AF_INET, k->addr, buf, (socklen_t)size);
		return;
	}
	memcpy(a, k->addr, 8);
	inet_ntop(AF_INET6, a, buf, (socklen_t)size);
	if (strlen(buf) + 4 < size)
		memcpy(buf + strlen(buf), "/64", 4);
}

/* Under g->lock: at most one line a second, with the count of refusals it stands for. */
static void log_refusal(struct guard *g, const struct guard_key *k)
{
	int64_t now = mono_us();
	char text[INET6_ADDRSTRLEN + 4];

	g->n_refused_since_log++;
	if (now - g->last_refusal_log_us < 1000000)
		return;
	key_text(k, text, sizeof(text));
	log_warn("http.guard", "connection refused: %s has %u connections open (the per-address limit); "
		 "%llu refused since the last report", text, g->per_address,
		 (unsigned long long)g->n_refused_since_log);
	g->last_refusal_log_us = now;
	g->n_refused_since_log = 0;
}

/* Under g->lock: one more connection of k. 0, -E2BIG when that is over the limit (it is
 * counted all the same: count_del takes it back when it closes), -ENOMEM (not counted). */
static int count_add(struct guard *g, const struct guard_key *k)
{
	struct addr_count *n = count_find(g, k);

	if (!n) {
		size_t b = bucket_of(k);

		n = calloc(1, sizeof(*n));
		if (!n)
			return -ENOMEM;
		n->key = *k;
		n->next = g->buckets[b];
		g->buckets[b] = n;
	}
	if (++n->n > g->per_address) {
		log_refusal(g, k);
		return -E2BIG;
	}
	return 0;
}

/* Under g->lock. */
static void count_del(struct guard *g, const struct guard_key *k)
{
	struct addr_count *n = count_find(g, k), **pp;

	if (!n || --n->n > 0)
		return;
	for (pp = &g->buckets[bucket_of(k)]; *pp != n; pp = &(*pp)->next)
		;
	*pp = n->next;
	free(n);
}

enum MHD_Result guard_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct guard *g = cls;
	struct guard_key k;
	struct ipnet net;
	struct addr_count *c;
	bool ok;

	(void)addrlen;
	if (!key_of(addr, &k, &net) || is_exempt(g, &net))
		return MHD_YES;
	pthread_mutex_lock(&g->lock);
	c = count_find(g, &k);
	ok = !c || c->n < g->per_address;
	if (!ok)
		log_refusal(g, &k);
	pthread_mutex_unlock(&g->lock);
	return ok ? MHD_YES : MHD_NO;
}

static void cut(struct guard *g, struct guard_conn *c, const char *why)
{
	(void)g;
	if (c->cut)
		return;
	c->cut = why;
	shutdown(c->fd, SHUT_RDWR);
}

static void conn_started(struct guard *g, struct MHD_Connection *con, void **socket_context)
{
	const union MHD_ConnectionInfo *ci_fd = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
	const union MHD_ConnectionInfo *ci_addr = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct guard_conn *c = calloc(1, sizeof(*c));
	struct ipnet net;

	*socket_context = NULL;
	if (!ci_fd) {
		free(c);
		return;
	}
	if (!c) {
		/* untracked connections would escape every limit: refuse it */
		shutdown(ci_fd->connect_fd, SHUT_RDWR);
		return;
	}
	c->fd = ci_fd->connect_fd;
	c->counted = key_of(ci_addr ? ci_addr->client_addr : NULL, &c->key, &net) && !is_exempt(g, &net);
	c->phase = PHASE_HEADERS;
	c->since_us = mono_us();
	pthread_mutex_lock(&g->lock);
	if (c->counted) {
		int r = count_add(g, &c->key);

		if (r == -ENOMEM)
			c->counted = false;
		if (r < 0)
			cut(g, c, "limit");   /* -E2BIG: past the policy check together with others */
	}
	c->next = g->conns;
	if (g->conns)
		g->conns->prev = c;
	g->conns = c;
	pthread_mutex_unlock(&g->lock);
	*socket_context = c;
}

static void conn_closed(struct guard *g, void **socket_context)
{
	struct guard_conn *c = *socket_context;

	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		g->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (c->counted)
		count_del(g, &c->key);
	pthread_mutex_unlock(&g->lock);
	free(c);
	*socket_context = NULL;
}

void guard_notify(void *cls, struct MHD_Connection *con, void **socket_context,
		  enum MHD_ConnectionNotificationCode code)
{
	struct guard *g = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		conn_started(g, con, socket_context);
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
		conn_closed(g, socket_context);
}

struct guard_conn *guard_conn_of(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static void set_phase(struct guard *g, struct guard_conn *c, enum guard_phase p)
{
	if (!g || !c)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->phase != p) {
		c->phase = p;
		c->since_us = c->window_us = mono_us();
		c->body_bytes = c->window_bytes = 0;
	}
	pthread_mutex_unlock(&g->lock);
}

void guard_headers_done(struct guard *g, struct guard_conn *c)
{
	set_phase(g, c, PHASE_BODY);
}

void guard_body(struct guard *g, struct guard_conn *c, size_t n)
{
	if (!g || !c)
		return;
	pthread_mutex_lock(&g->lock);
	c->body_bytes += n;
	pthread_mutex_unlock(&g->lock);
}

void guard_body_done(struct guard *g, struct guard_conn *c)
{
	set_phase(g, c, PHASE_BUSY);
}

void guard_request_done(struct guard *g, struct guard_conn *c)
{
	set_phase(g, c, PHASE_HEADERS);
}

const char *guard_cut_reason(struct guard *g, struct guard_conn *c)
{
	const char *why;

	if (!g || !c)
		return NULL;
	pthread_mutex_lock(&g->lock);
	why = c->cut;
	pthread_mutex_unlock(&g->lock);
	return why;
}

/* Under g->lock. */
static void sweep(struct guard *g)
{
	int64_t now = mono_us();
	struct guard_conn *c;

	for (c = g->conns; c; c = c->next) {
		int64_t age = now - c->since_us;

		if (c->cut)
			continue;
		if (c->phase == PHASE_HEADERS && age > g->header_us) {
			cut(g, c, "timeout");
			log_info("http.guard", "connection cut: no complete request headers within %lld s",
				 (long long)(g->header_us / 1000000));
		} else if (c->phase == PHASE_BODY &&
			   age > g->body_grace_us + (int64_t)(c->body_bytes * 1000000 / g->body_rate)) {
			cut(g, c, "timeout");
			log_info("http.guard", "connection cut: the request body arrived slower than %llu bytes/s "
				 "(%llu bytes in %lld ms)", (unsigned long long)g->body_rate,
				 (unsigned long long)c->body_bytes, (long long)(age / 1000));
		} else if (c->phase == PHASE_BODY && now - c->window_us >= g->body_grace_us) {
			/* the last window on its own: what was sent fast before is not credit */
			uint64_t got = c->body_bytes - c->window_bytes;
			int64_t span = now - c->window_us;

			if (got < g->body_rate * (uint64_t)span / 1000000) {
				cut(g, c, "timeout");
				log_info("http.guard", "connection cut: the request body arrived slower than %llu "
					 "bytes/s (%llu bytes in the last %lld ms)", (unsigned long long)g->body_rate,
					 (unsigned long long)got, (long long)(span / 1000));
			} else {
				c->window_us = now;
				c->window_bytes = c->body_bytes;
			}
		}
	}
}

static void *sweeper_main(void *arg)
{
	struct guard *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		struct timespec ts;

		sweep(g);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)KURA_GUARD_SWEEP_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&g->wake, &g->lock, &ts);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

struct guard *guard_new(const struct config *cfg, unsigned per_address, const struct ipnet *exempt,
			size_t n_exempt)
{
	struct guard *g = calloc(1, sizeof(*g));
	pthread_condattr_t ca;

	if (!g)
		return NULL;
	g->per_address = per_address;
	g->header_us = (int64_t)cfg->header_timeout_s * 1000000;
	g->body_grace_us = (int64_t)cfg->body_timeout_s * 1000000;
	g->body_rate = cfg->body_min_rate ? cfg->body_min_rate : 1;
	g->exempt = exempt;
	g->n_exempt = n_exempt;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&g->sweeper, NULL, sweeper_main, g) != 0) {
		pthread_cond_destroy(&g->wake);
		pthread_mutex_destroy(&g->lock);
		free(g);
		return NULL;
	}
	g->sweeper_running = true;
	return g;
}

struct guard *guard_free(struct guard *g)
{
	size_t i;

	if (!g)
		return NULL;
	if (g->sweeper_running) {
		pthread_mutex_lock(&g->lock);
		g->stop = true;
		pthread_cond_signal(&g->wake);
		pthread_mutex_unlock(&g->lock);
		pthread_join(g->sweeper, NULL);
	}
	/* MHD has closed every connection (and freed them through NOTIFY_CLOSED) by now */
	for (i = 0; i < KURA_GUARD_BUCKETS; i++)
		while (g->buckets[i]) {
			struct addr_count *n = g->buckets[i];

			g->buckets[i] = n->next;
			free(n);
		}
	pthread_cond_destroy(&g->wake);
	pthread_mutex_destroy(&g->lock);
	free(g);
	return NULL;
}
