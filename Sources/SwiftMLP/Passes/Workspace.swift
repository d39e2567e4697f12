// Scratch memory for one forward and backward pass, sized for the largest batch seen.
// Growing it is the only allocation a training step makes, and it happens once per
// new maximum batch size ("warm-up"); after that a step allocates nothing.
//
// For layer l with fanOut = n_{l+1} and a batch of `rows`:
//   z[l]     rows x n_{l+1}   pre-activation  Z_l = A_{l-1} W_l + b_l
//   a[l]     rows x n_{l+1}   activation      A_l = f_l(Z_l)
//   dz[l]    rows x n_{l+1}   delta           dZ_l = dL/dZ_l
//   upstream rows x widest    dL/dA of the layer being processed
//   scaled   rows x n_0       standardised inputs (when the model has a scaler)
//   product  rows x widest    A_{l-1} W_l as the product leaves it, before the
//                             bias; used for the products OpenBLAS computes when
//                             it runs more than one thread (`Network.forwardTraining`
//                             says why)
// All six live in one allocation, each starting on a cache line. (calloc'ed: at one
// BLAS thread the library never touches the product, so its pages stay unresident
// when calloc maps fresh ones, as it does for blocks this large.)

import Synchronization

final class Workspace<Scalar: MLPScalar> {
    private(set) var capacityRows = 0
    private var storage = ScalarBuffer<Scalar>()
    private let layerCount: Int
    /// Base addresses, 3 per layer (z, a, dz) then upstream, scaled inputs and
    /// product. A pointer table rather than Swift arrays, so the hot path reads
    /// plain memory with no bounds checks, reference counting or exclusivity checks.
    private let table: UnsafeMutablePointer<UnsafeMutablePointer<Scalar>?>

    init(layerCount: Int) {
        self.layerCount = layerCount
        table = .allocate(capacity: 3 * layerCount + 3)
        table.initialize(repeating: nil, count: 3 * layerCount + 3)
    }

    deinit {
        table.deallocate()
    }

    /// Makes room for `rows` rows, reallocating only when it is more than before.
    /// On failure the old workspace is kept intact.
    func reserve(rows: Int, layout: ParameterLayout) throws(MLPError) {
        if rows <= capacityRows { return }
        // Each matrix (rows x width, contiguous) starts on a cache line, as the
        // block itself does (ScalarBuffer.alignment): then so does every row of a
        // matrix whose width is a multiple of a line, whatever the batch size.
        var total: Int? = 0
        visitMatrices(layout) { _, width in
            guard let sum = total, let size = ScalarBuffer<Scalar>.lineAlignedCount(rows: rows, width: width)
            else { return }
            let (next, overflow) = sum.addingReportingOverflow(size)
            total = overflow ? nil : next
        }
        guard let total else {
            throw MLPError(.outOfMemory, "a workspace for \(rows) rows overflows the address space")
        }
        storage = try ScalarBuffer<Scalar>(zeroedCount: total, purpose: "workspace")
        capacityRows = rows
        var offset = 0
        visitMatrices(layout) { slot, width in
            table[slot] = storage.address(offset)
            offset += ScalarBuffer<Scalar>.lineAlignedCount(rows: rows, width: width) ?? 0   // checked above
        }
    }

    /// The matrices in storage order, as (table slot, width): z, a and dz of every
    /// layer, then upstream (widest), the scaled inputs (fanIn of layer 0) and the
    /// product (widest).
    private func visitMatrices(_ layout: ParameterLayout, _ body: (Int, Int) -> Void) {
        for (l, layer) in layout.layers.enumerated() {
            for kind in 0..<3 { body(3 * l + kind, layer.fanOut) }
        }
        body(3 * layerCount, layout.widestOutput)
        body(3 * layerCount + 1, layout.layers[0].fanIn)
        body(3 * layerCount + 2, layout.widestOutput)
    }

    @inline(__always) func z(_ layer: Int) -> UnsafeMutablePointer<Scalar> {
        table[3 * layer].unsafelyUnwrapped
    }
    @inline(__always) func a(_ layer: Int) -> UnsafeMutablePointer<Scalar> {
        table[3 * layer + 1].unsafelyUnwrapped
    }
    @inline(__always) func dz(_ layer: Int) -> UnsafeMutablePointer<Scalar> {
        table[3 * layer + 2].unsafelyUnwrapped
    }
    @inline(__always) var upstream: UnsafeMutablePointer<Scalar> {
        table[3 * layerCount].unsafelyUnwrapped
    }
    @inline(__always) var scaledInputs: UnsafeMutablePointer<Scalar> {
        table[3 * layerCount + 1].unsafelyUnwrapped
    }
    @inline(__always) var product: UnsafeMutablePointer<Scalar> {
        table[3 * layerCount + 2].unsafelyUnwrapped
    }
}

/// Two ping-pong buffers of rows x widest for inference, which keeps no Z or deltas,
/// and rows x inputs for standardised inputs.
struct InferenceWorkspace<Scalar: MLPScalar>: ~Copyable {
    private(set) var capacityRows = 0
    private var storage = ScalarBuffer<Scalar>()
    /// Scalars from one ping-pong buffer to the next: rows x widest, rounded up to
    /// a cache line.
    private var bufferStride = 0

    mutating func reserve(rows: Int, widest: Int, inputs: Int) throws(MLPError) {
        if rows <= capacityRows { return }
        // Each buffer starts on a cache line (see `Workspace.reserve`).
        let stride = ScalarBuffer<Scalar>.lineAlignedCount(rows: rows, width: widest)
        let (pair, overflow1) = (stride ?? 0).multipliedReportingOverflow(by: 2)
        let (inputBuffer, overflow2) = rows.multipliedReportingOverflow(by: inputs)
        let (total, overflow3) = pair.addingReportingOverflow(inputBuffer)
        guard let stride, !overflow1, !overflow2, !overflow3 else {
            throw MLPError(.outOfMemory, "an inference workspace for \(rows) rows overflows the address space")
        }
        storage = try ScalarBuffer<Scalar>(zeroedCount: total, purpose: "inference workspace")
        capacityRows = rows
        bufferStride = stride
    }

    @inline(__always) func buffer(_ index: Int) -> UnsafeMutablePointer<Scalar> {
        storage.address(index * bufferStride)
    }

    /// rows x inputs, after the two ping-pong buffers.
    @inline(__always) var scaledInputs: UnsafeMutablePointer<Scalar> {
        storage.address(2 * bufferStride)
    }

}

/// One inference scratch space and the flag that says a prediction is using it.
final class InferenceSlot<Scalar: MLPScalar> {
    let inUse = Atomic<Bool>(false)
    var workspace = InferenceWorkspace<Scalar>()

    /// Claims the slot for one prediction, or returns false when another holds it.
    func claim() -> Bool {
        inUse.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    }

    func release() {
        inUse.store(false, ordering: .releasing)
    }
}

/// Concurrent predictions on one model each take a slot, so up to this many at once
/// run with no allocation after warm-up; more than this get scratch for the call.
let inferenceSlotCount = 8
