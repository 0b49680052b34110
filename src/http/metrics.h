/* /metrics on [server] metrics_listen (loopback only): Prometheus text exposition (metrics.c). */
#ifndef KURA_HTTP_METRICS_H
#define KURA_HTTP_METRICS_H
#include "core/core.h"

struct metrics_server;
/* Serves GET /metrics on listen_fd (bound, listening; taken over) for the data directory dir. */
struct metrics_server *metrics_start(int listen_fd, const char *dir, char *err, size_t err_size);
struct metrics_server *metrics_stop(struct metrics_server *m);
#endif
