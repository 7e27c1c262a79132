/* server.h - the HTTP server (libmicrohttpd) in front of api_handle().
 *
 * Reads each request within the limits of the configuration, picks its
 * request id, hands it to api/ and sends back what api/ answers, with
 * X-Request-Id and Cache-Control: no-store; logs one line per request.
 */
#ifndef SHIKAKU_SERVICE_SERVER_H
#define SHIKAKU_SERVICE_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "service/config.h"

struct server;

/* Starts listening on cfg's address and serving in background threads.
 * cfg and app are borrowed and must outlive the server.  Returns a new
 * server (end it with server_stop), or NULL with a one-line message in
 * err. */
struct server *server_start(const struct config *cfg, const struct api_app *app,
			    char *err, size_t errlen);

/* The port really bound (the ephemeral one when cfg's port was 0). */
uint16_t server_port(const struct server *srv);

/* Stops accepting, waits up to drain_ms for the requests in flight to be
 * answered, then closes every connection and frees srv (NULL is a no-op).
 * Returns how many requests were still in flight when it gave up. */
unsigned server_stop(struct server *srv, unsigned drain_ms);

#endif
