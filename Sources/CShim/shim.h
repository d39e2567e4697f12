/* The few libc pieces Swift cannot import directly, as static inline functions, and
 * the headers whose plain functions it can (malloc, read, expf, pthread_key_create...).
 * Sources/SwiftMLP/Persistence/Platform.swift gives them their Glibc-overlay names.
 * Both builds of the library use this module instead of Glibc: Embedded Swift has no
 * Glibc overlay, and one import for both keeps one code path. Nothing here is
 * exported from libswiftmlp.so (static inline, and the version script hides the rest). */
#ifndef SWIFTMLP_CSHIM_H
#define SWIFTMLP_CSHIM_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* errno is a macro over a thread-local location (the Glibc overlay's `errno`). */
static inline int cshim_errno(void) { return errno; }

/* open(2) and fcntl(2) are variadic, which Swift does not import. */
static inline int cshim_open(const char *path, int flags, mode_t mode) {
    return open(path, flags, mode);
}
static inline int cshim_fcntl(int descriptor, int command, int argument) {
    return fcntl(descriptor, command, argument);
}

#endif
