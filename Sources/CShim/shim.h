/* The few libc pieces Swift cannot import directly, as static inline functions, and
 * the headers whose plain functions it can (malloc, read, expf, getrandom,
 * pthread_key_create...).
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
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

/* errno is a macro over a thread-local location (the Glibc overlay's `errno`). */
static inline int cshim_errno(void) { return errno; }

/* open(2) and fcntl(2) are variadic, which Swift does not import. */
static inline int cshim_open(const char *path, int flags, mode_t mode) {
    return open(path, flags, mode);
}
static inline int cshim_fcntl(int descriptor, int command, int argument) {
    return fcntl(descriptor, command, argument);
}

/* Whether the CPU and the OS can run x86-64-v3 code (AVX, AVX2, BMI1, BMI2, F16C, FMA,
 * LZCNT, MOVBE, and the OS saving the YMM registers): the level of the engine's wide
 * copy of its hot loops (Sources/SwiftMLP/Numerics/WideLoops.swift). CPUID and XGETBV
 * directly, so that neither libgcc's nor compiler-rt's CPU model is needed. */
static inline int cshim_cpu_is_x86_64_v3(void) {
#if defined(__x86_64__)
    unsigned int eax, ebx, ecx, edx, xcr0, xcr0_high;
    /* Leaf 1, ECX: FMA 12, MOVBE 22, OSXSAVE 27, AVX 28, F16C 29. */
    const unsigned int leaf1 = 1u << 12 | 1u << 22 | 1u << 27 | 1u << 28 | 1u << 29;
    /* Leaf 7, EBX: BMI1 3, AVX2 5, BMI2 8. Leaf 0x80000001, ECX: LZCNT 5. */
    const unsigned int leaf7 = 1u << 3 | 1u << 5 | 1u << 8;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || (ecx & leaf1) != leaf1) return 0;
    __asm__("xgetbv" : "=a"(xcr0), "=d"(xcr0_high) : "c"(0));
    if ((xcr0 & 6) != 6) return 0; /* XMM and YMM state */
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) || (ebx & leaf7) != leaf7) return 0;
    if (!__get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx) || !(ecx & 1u << 5)) return 0;
    return 1;
#else
    return 0;
#endif
}

#endif
