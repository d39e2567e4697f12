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
// All five live in one allocation; these are their offsets in it.

import Synchronization

struct Workspace<Scalar: MLPScalar> {
    private(set) var capacityRows = 0
    private var storage = ScalarBuffer<Scalar>()
    private var zOffsets: [Int] = []
    private var aOffsets: [Int] = []
    private var dzOffsets: [Int] = []
    private var upstreamOffset = 0
    private var scaledOffset = 0

    /// Makes room for `rows` rows, reallocating only when it is more than before.
    /// On failure the old workspace is kept intact.
    mutating func reserve(rows: Int, layout: ParameterLayout) throws(MLPError) {
        if rows <= capacityRows { return }
        var perRow = 0
        var zs: [Int] = [], as_: [Int] = [], dzs: [Int] = []
        zs.reserveCapacity(layout.layers.count)
        as_.reserveCapacity(layout.layers.count)
        dzs.reserveCapacity(layout.layers.count)
        for layer in layout.layers {
            zs.append(perRow); perRow += layer.fanOut
            as_.append(perRow); perRow += layer.fanOut
            dzs.append(perRow); perRow += layer.fanOut
        }
        let upstreamColumn = perRow
        perRow += layout.widestOutput
        let scaledColumn = perRow
        perRow += layout.layers[0].fanIn
        let (total, overflow) = perRow.multipliedReportingOverflow(by: rows)
        guard !overflow else {
            throw MLPError(.outOfMemory, "a workspace for \(rows) rows overflows the address space")
        }
        let fresh = try ScalarBuffer<Scalar>(zeroedCount: total, purpose: "workspace")
        storage.deallocate()
        storage = fresh
        capacityRows = rows
        // Offsets are per-row column positions scaled to this capacity: each matrix is
        // stored contiguously (rows x width) starting at column * rows.
        zOffsets = zs.map { $0 * rows }
        aOffsets = as_.map { $0 * rows }
        dzOffsets = dzs.map { $0 * rows }
        upstreamOffset = upstreamColumn * rows
        scaledOffset = scaledColumn * rows
    }

    @inline(__always) func z(_ layer: Int) -> UnsafeMutablePointer<Scalar> {
        storage.address(zOffsets[layer])
    }
    @inline(__always) func a(_ layer: Int) -> UnsafeMutablePointer<Scalar> {
        storage.address(aOffsets[layer])
    }
    @inline(__always) func dz(_ layer: Int) -> UnsafeMutablePointer<Scalar> {
        storage.address(dzOffsets[layer])
    }
    @inline(__always) var upstream: UnsafeMutablePointer<Scalar> {
        storage.address(upstreamOffset)
    }
    @inline(__always) var scaledInputs: UnsafeMutablePointer<Scalar> {
        storage.address(scaledOffset)
    }

    func deallocate() { storage.deallocate() }
}

/// Two ping-pong buffers of rows x widest for inference, which keeps no Z or deltas,
/// and rows x inputs for standardised inputs.
struct InferenceWorkspace<Scalar: MLPScalar> {
    private(set) var capacityRows = 0
    private var storage = ScalarBuffer<Scalar>()
    private var width = 0

    mutating func reserve(rows: Int, widest: Int, inputs: Int) throws(MLPError) {
        if rows <= capacityRows { return }
        let (perBuffer, overflow1) = rows.multipliedReportingOverflow(by: widest)
        let (pair, overflow2) = perBuffer.multipliedReportingOverflow(by: 2)
        let (inputBuffer, overflow3) = rows.multipliedReportingOverflow(by: inputs)
        let (total, overflow4) = pair.addingReportingOverflow(inputBuffer)
        guard !overflow1, !overflow2, !overflow3, !overflow4 else {
            throw MLPError(.outOfMemory, "an inference workspace for \(rows) rows overflows the address space")
        }
        let fresh = try ScalarBuffer<Scalar>(zeroedCount: total, purpose: "inference workspace")
        storage.deallocate()
        storage = fresh
        capacityRows = rows
        width = widest
    }

    @inline(__always) func buffer(_ index: Int) -> UnsafeMutablePointer<Scalar> {
        storage.address(index * capacityRows * width)
    }

    /// rows x inputs, after the two ping-pong buffers.
    @inline(__always) var scaledInputs: UnsafeMutablePointer<Scalar> {
        storage.address(2 * capacityRows * width)
    }

    func deallocate() { storage.deallocate() }
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

    deinit { workspace.deallocate() }
}

/// Concurrent predictions on one model each take a slot, so up to this many at once
/// run with no allocation after warm-up; more than this get scratch for the call.
let inferenceSlotCount = 8
