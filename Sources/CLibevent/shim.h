#ifndef GOLEM_CLIBEVENT_SHIM_H
#define GOLEM_CLIBEVENT_SHIM_H

/* Why this order: <event2/event-config.h> defines _GNU_SOURCE-dependent macros that,
 * if it is read first, change how the system headers below are compiled inside the
 * Clang module and break the fd_set definition Swift imports. Pulling the system
 * headers in first pins their form before any libevent header is seen. */
#include <sys/types.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>

#endif
