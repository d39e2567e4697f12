// swift-tools-version:5.9
// swiftmlp: a multilayer perceptron with a Swift core, OpenBLAS math, and a C ABI.
//
// Targets (data flows one way: C caller -> SwiftMLPCABI -> SwiftMLP -> COpenBLAS):
//   COpenBLAS     system library over OpenBLAS's CBLAS (pkg-config `openblas`).
//   CSwiftMLP     the hand-written C header include/swiftmlp.h, as a Clang module, so
//                 the C-ABI target uses exactly the types the header declares.
//   CShim         the libc pieces both modules use (errno, open, file types, math,
//                 pthreads), in place of Glibc, which Embedded Swift does not have.
//   SwiftMLP      the engine: plain generic Swift, no C types in its public API.
//   SwiftMLPCABI  every @_cdecl function and nothing else: checks, handles, statuses.
import PackageDescription

let package = Package(
    name: "swiftmlp",
    products: [
        // libswiftmlp.so: the C library, built this way by `make library-swiftpm`
        // (the Swift runtime inside, -static-stdlib, and a version script exporting
        // only smlp_*); `make` builds the shipped one with Embedded Swift instead.
        .library(name: "swiftmlp", type: .dynamic, targets: ["SwiftMLPCABI"]),
        // The engine as an ordinary SwiftPM library for Swift callers.
        .library(name: "SwiftMLP", targets: ["SwiftMLP"]),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(name: "CSwiftMLP"),
        .systemLibrary(name: "CShim"),
        .target(name: "SwiftMLP", dependencies: ["COpenBLAS", "CShim"]),
        .target(name: "SwiftMLPCABI", dependencies: ["SwiftMLP", "CSwiftMLP", "CShim"]),
        .testTarget(name: "SwiftMLPTests", dependencies: ["SwiftMLP"]),
    ]
)
