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

/* The floating-point environment the library's calls compute in (all but the
 * per-row ones, runReportingErrors): the default one, every exception masked (a
 * host's traps would turn the NaNs and infinities the library detects after the fact
 * into SIGFPE), round to nearest (the same seed gives the same bits, an overflow gives
 * the infinity the checks look for, strtod reads text back exactly), no flush-to-zero
 * or denormals-are-zero: MXCSR for the arithmetic, and the x87 control word, whose
 * rounding glibc's strtod reads. cshim_enter_default_fp returns 0 when the caller's
 * control bits are the default already (nothing changed), else the caller's MXCSR
 * (low 32 bits) and x87 control word (bits 32-47), marked by bit 63, which
 * cshim_leave_default_fp restores, the caller's SSE status flags included. Reading
 * the two words costs ~17 ns of a small network's 80 ns prediction on this Zen 4
 * (they wait for the floating-point work in flight), hence not on the per-row calls. */
#define CSHIM_MXCSR_CONTROL_BITS 0xFFC0u    /* DAZ 6, masks 7-12, rounding 13-14, FTZ 15 */
#define CSHIM_MXCSR_DEFAULT_CONTROL 0x1F80u /* every exception masked, nearest, no FTZ/DAZ */
#define CSHIM_X87_CONTROL_BITS 0x0F3Fu      /* masks 0-5, precision 8-9, rounding 10-11 */
#define CSHIM_X87_DEFAULT_CONTROL 0x033Fu   /* every exception masked, 64 bits, nearest */
static inline unsigned long long cshim_enter_default_fp(void) {
#if defined(__x86_64__)
    unsigned csr = __builtin_ia32_stmxcsr();
    unsigned short word, normal;
    __asm__ __volatile__("fnstcw %0" : "=m"(word));
    if ((csr & CSHIM_MXCSR_CONTROL_BITS) == CSHIM_MXCSR_DEFAULT_CONTROL
        && (word & CSHIM_X87_CONTROL_BITS) == CSHIM_X87_DEFAULT_CONTROL)
        return 0;
    __builtin_ia32_ldmxcsr((csr & ~CSHIM_MXCSR_CONTROL_BITS) | CSHIM_MXCSR_DEFAULT_CONTROL);
    normal = (unsigned short)((word & ~CSHIM_X87_CONTROL_BITS) | CSHIM_X87_DEFAULT_CONTROL);
    __asm__ __volatile__("fldcw %0" : : "m"(normal));
    return 1ull << 63 | (unsigned long long)word << 32 | csr;
#else
    return 0;
#endif
}
static inline void cshim_leave_default_fp(unsigned long long saved) {
#if defined(__x86_64__)
    unsigned short word = (unsigned short)(saved >> 32);
    if (saved == 0) return;
    __asm__ __volatile__("fldcw %0" : : "m"(word));
    __builtin_ia32_ldmxcsr((unsigned)saved);
#else
    (void)saved;
#endif
}

#endif
