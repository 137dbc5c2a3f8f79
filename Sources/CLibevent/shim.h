#ifndef GOLEM_CLIBEVENT_SHIM_H
#define GOLEM_CLIBEVENT_SHIM_H

/* Note for editors: SwiftPM does not notice changes to this header in an existing
 * build directory (the Swift objects keep the old inline functions and the link
 * fails or, worse, succeeds); run `swift package clean` (or remove the scratch path)
 * after editing it. */

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

#include <stdlib.h>
#include <string.h>

/* A per-thread cache of freed libevent blocks, installed with event_set_mem_functions.
 *
 * libevent allocates a buffer chain for every socket read that lands in an empty
 * buffer and frees it once the bytes are written on, so a proxy would otherwise call
 * malloc and free about twice per request. Chains are sized in powers of two from
 * 1 KiB; freed blocks of those sizes (up to 64 KiB) are kept on the freeing thread,
 * GOLEM_CACHE_DEPTH per size, and handed out again. Every block carries its size in a
 * 16-byte header (alignment is kept). Blocks of other sizes go to malloc as usual. */
#define GOLEM_CACHE_CLASSES 7
#define GOLEM_CACHE_DEPTH 32
#define GOLEM_HEADER 16

struct golem_cache {
    void *blocks[GOLEM_CACHE_CLASSES][GOLEM_CACHE_DEPTH];
    int counts[GOLEM_CACHE_CLASSES];
};

/* This thread's cache (a function-local static, which Swift's importer emits with the
 * function, unlike a file-scope one). */
static inline struct golem_cache *golem_cache_here(void) {
    static __thread struct golem_cache cache;
    return &cache;
}

/* The cache class of a block size: 0 for 1 KiB ... 6 for 64 KiB, -1 for any other. */
static inline int golem_cache_class(size_t size) {
    if (size < 1024 || size > 65536 || (size & (size - 1)) != 0) return -1;
    int class = 0;
    while ((size_t)1024 << class != size) class++;
    return class;
}

static inline void *golem_cache_malloc(size_t size) {
    int class = golem_cache_class(size);
    if (class >= 0) {
        struct golem_cache *cache = golem_cache_here();
        if (cache->counts[class] > 0) return (char *)cache->blocks[class][--cache->counts[class]] + GOLEM_HEADER;
    }
    char *block = (char *)malloc(size + GOLEM_HEADER);
    if (block == NULL) return NULL;
    *(size_t *)block = size;
    return block + GOLEM_HEADER;
}

static inline void golem_cache_free(void *pointer) {
    if (pointer == NULL) return;
    char *block = (char *)pointer - GOLEM_HEADER;
    int class = golem_cache_class(*(size_t *)block);
    if (class >= 0) {
        struct golem_cache *cache = golem_cache_here();
        if (cache->counts[class] < GOLEM_CACHE_DEPTH) {
            cache->blocks[class][cache->counts[class]++] = block;
            return;
        }
    }
    free(block);
}

static inline void *golem_cache_realloc(void *pointer, size_t size) {
    if (pointer == NULL) return golem_cache_malloc(size);
    if (size == 0) {
        golem_cache_free(pointer);
        return NULL;
    }
    size_t old = *(size_t *)((char *)pointer - GOLEM_HEADER);
    void *moved = golem_cache_malloc(size);
    if (moved == NULL) return NULL;
    memcpy(moved, pointer, old < size ? old : size);
    golem_cache_free(pointer);
    return moved;
}

/* Installs the cache as libevent's allocator; must come before any other libevent call. */
static inline void golem_install_block_cache(void) {
    event_set_mem_functions(golem_cache_malloc, golem_cache_realloc, golem_cache_free);
}

#endif
