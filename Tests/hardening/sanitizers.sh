#!/usr/bin/env bash
# Tests/hardening/sanitizers.sh - the Swift tests under AddressSanitizer and under
# ThreadSanitizer, and the C thread-stress test against a ThreadSanitizer build of
# the library. One "sanitizer run" each; the last line is "N passed, N failed".
#
#   1. swift test --sanitize=address --scratch-path .build-asan
#      LeakSanitizer is on. XCTest and the toolchain leak a few objects of their own at
#      exit (test-case runs, observers, a weak reference in awaitUsingExpectation); a
#      direct-leak report fails the run only when one of its frames is in this
#      repository's Sources/ or Tests/. Any other ASan report fails it.
#   2. swift test --sanitize=thread --scratch-path .build-tsan
#      Any ThreadSanitizer warning fails it.
#   3. Tests/hardening/test_threads_stress.c built with clang -fsanitize=thread against
#      the library built with swiftc -sanitize=thread (swift build -c release --product
#      swiftmlp into .build-tsan). Any warning not in tsan.supp fails it.
#
# SANITIZERS="address thread c-thread" (default: all three) picks runs. Reports go to
# build/sanitizers/. The scratch paths are git-ignored (.build-*).
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$ROOT/build/sanitizers
SWIFT=${SWIFT:-swift}
CLANG=${CLANG:-/opt/swift/usr/bin/clang}
[[ -x $CLANG ]] || CLANG=clang
RUNS=${SANITIZERS:-address thread c-thread}
mkdir -p "$OUT"
cd "$ROOT" || exit 1

passed=0
failed=0
pass() { echo "sanitizers: $1: ok ($2 s)"; passed=$((passed + 1)); }
fail() { echo "sanitizers: $1: FAILED ($2 s): $3"; failed=$((failed + 1)); }

# Direct-leak blocks of ASan logs that have a frame in this repository's Sources/ or
# Tests/. (Indirect leaks are owned by a direct one; XCTest's own direct leaks - its
# registry of test cases, built from each test class's closures - own indirect blocks
# whose stacks name Tests/ files, and are ignored with their owner.)
our_leaks() {
    awk -v root="$ROOT" '
        /^Direct leak of/ { block = $0 "\n"; ours = 0; inblock = 1; next }
        inblock && /^$/ { if (ours) printf "%s\n", block; inblock = 0; next }
        inblock { block = block $0 "\n"; if (index($0, root "/Sources/") || index($0, root "/Tests/")) ours = 1 }
        END { if (inblock && ours) printf "%s\n", block }' "$@"
}

for run in $RUNS; do
    start=$SECONDS
    case $run in
    address)
        rm -f "$OUT"/asan.*
        ASAN_OPTIONS=detect_leaks=1:log_path=$OUT/asan:halt_on_error=1 \
            "$SWIFT" test --sanitize=address --scratch-path "$ROOT/.build-asan" >"$OUT/address.log" 2>&1
        rc=$?
        secs=$((SECONDS - start))
        shopt -s nullglob
        reports=("$OUT"/asan.*)
        shopt -u nullglob
        others=0
        ((${#reports[@]})) && others=$(grep -l "ERROR: AddressSanitizer" "${reports[@]}" | wc -l)
        ours=""
        ((${#reports[@]})) && ours=$(our_leaks "${reports[@]}")
        xctest=0
        ((${#reports[@]})) && xctest=$(cat "${reports[@]}" | grep -c "^Direct leak of")
        grep -E "Executed [0-9]+ tests" "$OUT/address.log" | tail -n 1 | sed 's/^/    /'
        if ((others > 0)); then
            fail address $secs "AddressSanitizer reported a memory error (see $OUT/asan.*)"
            grep -h -A12 "ERROR: AddressSanitizer" "${reports[@]}" | head -n 30 | sed 's/^/    /'
        elif [[ -n $ours ]]; then
            fail address $secs "LeakSanitizer found leaks with frames in Sources/ or Tests/"
            echo "$ours" | grep -E "^(Direct|Indirect) leak|$ROOT/(Sources|Tests)/" | head -n 20 | sed 's/^/    /'
        elif ! grep -qE "Executed [0-9]+ tests?, with 0 failures" "$OUT/address.log" || \
             grep -qE "error: fatalError|Test run with [0-9]+ tests? .*failed" "$OUT/address.log"; then
            fail address $secs "swift test failed (exit $rc; see $OUT/address.log)"
        else
            echo "    (${xctest:-0} leak reports from XCTest/the toolchain only, ignored)"
            pass address $secs
        fi ;;
    thread)
        rm -f "$OUT"/tsan.*
        TSAN_OPTIONS=halt_on_error=0:log_path=$OUT/tsan:suppressions=$HERE/tsan.supp \
            "$SWIFT" test --sanitize=thread --scratch-path "$ROOT/.build-tsan" >"$OUT/thread.log" 2>&1
        rc=$?
        secs=$((SECONDS - start))
        warnings=$(cat "$OUT"/tsan.* 2>/dev/null | grep -c "WARNING: ThreadSanitizer")
        grep -E "Executed [0-9]+ tests" "$OUT/thread.log" | tail -n 1 | sed 's/^/    /'
        if ((warnings > 0)); then
            fail thread $secs "$warnings ThreadSanitizer warnings (see $OUT/tsan.*)"
            cat "$OUT"/tsan.* | grep -E -A3 "WARNING: ThreadSanitizer|^  (Read|Write|Previous)" | head -n 30 | sed 's/^/    /'
        elif ((rc != 0)); then
            fail thread $secs "swift test failed (exit $rc; see $OUT/thread.log)"
        else
            pass thread $secs
        fi ;;
    c-thread)
        if ! "$SWIFT" build -c release --product swiftmlp --scratch-path "$ROOT/.build-tsan" \
                -Xswiftc -sanitize=thread -Xswiftc -static-stdlib >"$OUT/c-thread.build.log" 2>&1; then
            fail c-thread $((SECONDS - start)) "the ThreadSanitizer library did not build (see $OUT/c-thread.build.log)"
            continue
        fi
        LIB=$ROOT/.build-tsan/release
        SWIFTLIB=$(dirname "$(dirname "$(command -v "$SWIFT")")")/lib/swift/linux
        # The toolchain's TSan runtime intercepts libdispatch, so it needs it linked.
        if ! "$CLANG" -std=c99 -g -O1 -fsanitize=thread -I"$ROOT/include" -I"$ROOT/Tests/c" \
                -o "$OUT/test_threads_stress_tsan" "$HERE/test_threads_stress.c" -L"$LIB" -lswiftmlp \
                -L"$SWIFTLIB" -ldispatch -lBlocksRuntime -lpthread -lm -Wl,-rpath,"$LIB" -Wl,-rpath,"$SWIFTLIB" \
                >"$OUT/c-thread.cc.log" 2>&1; then
            fail c-thread $((SECONDS - start)) "test_threads_stress did not build with -fsanitize=thread"
            grep -v "Cannot export" "$OUT/c-thread.cc.log" | head -n 10
            continue
        fi
        rm -f "$OUT"/ctsan.*
        TSAN_OPTIONS=halt_on_error=0:log_path=$OUT/ctsan:suppressions=$HERE/tsan.supp \
            "$OUT/test_threads_stress_tsan" >"$OUT/c-thread.log" 2>&1
        rc=$?
        secs=$((SECONDS - start))
        warnings=$(cat "$OUT"/ctsan.* 2>/dev/null | grep -c "WARNING: ThreadSanitizer")
        tail -n 1 "$OUT/c-thread.log" | sed 's/^/    test_threads_stress: /'
        if ((warnings > 0)); then
            fail c-thread $secs "$warnings ThreadSanitizer warnings (see $OUT/ctsan.*)"
            cat "$OUT"/ctsan.* | grep -E -A2 "WARNING: ThreadSanitizer|^  (Read|Write|Previous)" | \
                grep -vE "^--$" | head -n 24 | sed 's/^/    /'
        elif ((rc != 0)); then
            fail c-thread $secs "test_threads_stress failed (exit $rc; see $OUT/c-thread.log)"
        else
            pass c-thread $secs
        fi ;;
    *)
        fail "$run" 0 "unknown run (address, thread, c-thread)" ;;
    esac
done

echo "$passed passed, $failed failed"
((failed == 0))
