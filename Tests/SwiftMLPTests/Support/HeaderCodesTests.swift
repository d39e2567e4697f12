// The engine enums' raw values are the C header's codes (the model file and the C ABI
// convert by raw value). This test reads include/swiftmlp.h and checks every
// constant of every mirrored enum against its Swift case, both ways.

import Foundation
import SwiftMLP
import XCTest

final class HeaderCodesTests: XCTestCase {
    /// Each `typedef enum name { A = 0, ... } name;` of the header, as name -> [constant: value].
    static let headerEnums: [String: [String: Int]] = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = (try? String(contentsOf: root.appendingPathComponent("include/swiftmlp.h"), encoding: .utf8)) ?? ""
        var enums: [String: [String: Int]] = [:]
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let code = line.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
            let trimmed = code.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("typedef enum ") {
                current = trimmed.dropFirst("typedef enum ".count).split(separator: " ").first.map(String.init)
                if let current { enums[current] = [:] }
            } else if trimmed.hasPrefix("}") {
                current = nil
            } else if let name = current {
                let parts = trimmed.replacingOccurrences(of: ",", with: "").split(separator: "=")
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2, let value = Int(parts[1]) { enums[name]?[parts[0]] = value }
            }
        }
        return enums
    }()

    func check<E: RawRepresentable & CaseIterable & Hashable>(
        _ cEnum: String, _ table: [String: E], cOnly: Set<String> = [],
        file: StaticString = #filePath, line: UInt = #line
    ) where E.RawValue == UInt8 {
        let header = (Self.headerEnums[cEnum] ?? [:]).filter { !cOnly.contains($0.key) }
        XCTAssertFalse(header.isEmpty, "no \(cEnum) in include/swiftmlp.h", file: file, line: line)
        XCTAssertEqual(Set(header.keys), Set(table.keys), "\(cEnum)'s constants", file: file, line: line)
        XCTAssertEqual(Set(table.values), Set(E.allCases), "\(E.self)'s cases", file: file, line: line)
        for (name, value) in table {
            XCTAssertEqual(header[name], Int(value.rawValue), "\(name) vs \(E.self).\(value)", file: file, line: line)
        }
    }

    func testEveryHeaderCodeIsTheRawValueOfItsSwiftCase() {
        check("smlp_status", [
            "SMLP_ERR_INVALID_ARGUMENT": MLPError.Kind.invalidArgument, "SMLP_ERR_SHAPE_MISMATCH": .shapeMismatch,
            "SMLP_ERR_DTYPE_MISMATCH": .dtypeMismatch, "SMLP_ERR_OUT_OF_MEMORY": .outOfMemory,
            "SMLP_ERR_NON_FINITE": .nonFinite, "SMLP_ERR_BUSY": .busy, "SMLP_ERR_IO": .io,
            "SMLP_ERR_BAD_FORMAT": .badFormat, "SMLP_ERR_UNSUPPORTED_VERSION": .unsupportedVersion,
        ], cOnly: ["SMLP_OK", "SMLP_ERR_NULL_ARGUMENT"])
        check("smlp_dtype", ["SMLP_FLOAT32": DType.float32, "SMLP_FLOAT64": .float64])
        check("smlp_activation", [
            "SMLP_IDENTITY": Activation.identity, "SMLP_SIGMOID": .sigmoid, "SMLP_TANH": .tanh,
            "SMLP_RELU": .relu, "SMLP_LEAKY_RELU": .leakyReLU, "SMLP_SOFTMAX": .softmax,
        ])
        check("smlp_loss", [
            "SMLP_MSE": Loss.meanSquaredError, "SMLP_BINARY_CROSS_ENTROPY": .binaryCrossEntropy,
            "SMLP_SOFTMAX_CROSS_ENTROPY": .softmaxCrossEntropy, "SMLP_POISSON": .poisson,
            "SMLP_FANN_TANH_ERROR": .fannTanhError,
        ])
        check("smlp_reduction", ["SMLP_REDUCTION_MEAN": Reduction.mean, "SMLP_REDUCTION_SUM": .sum])
        check("smlp_init", [
            "SMLP_INIT_AUTO": Initialization.automatic, "SMLP_INIT_GLOROT_UNIFORM": .glorotUniform,
            "SMLP_INIT_HE_UNIFORM": .heUniform,
        ])
        check("smlp_schedule", [
            "SMLP_SCHEDULE_CONSTANT": ScheduleKind.constant, "SMLP_SCHEDULE_STEP": .step,
            "SMLP_SCHEDULE_EXPONENTIAL": .exponential, "SMLP_SCHEDULE_COSINE": .cosine,
            "SMLP_SCHEDULE_INVERSE_SCALING": .inverseScaling,
        ])
        check("smlp_optimizer", [
            "SMLP_SGD": OptimizerKind.sgd, "SMLP_ADAM": .adam, "SMLP_ADAMW": .adamW,
            "SMLP_RMSPROP": .rmsProp, "SMLP_RPROP": .rprop,
        ])
        check("smlp_rprop_variant", ["SMLP_IRPROP_MINUS": RpropVariant.minus, "SMLP_IRPROP_PLUS": .plus])
        check("smlp_train_method", ["SMLP_TRAIN_MINIBATCH": TrainingMethod.miniBatch, "SMLP_TRAIN_LBFGS": .lbfgs])
        check("smlp_stop_reason", [
            "SMLP_STOP_MAX_EPOCHS": StopReason.maxEpochs, "SMLP_STOP_EARLY_STOPPING": .earlyStopping,
            "SMLP_STOP_CALLBACK": .callback, "SMLP_STOP_GRADIENT_TOLERANCE": .gradientTolerance,
            "SMLP_STOP_LOSS_CHANGE": .lossChange, "SMLP_STOP_MAX_FUNCTION_EVALS": .maxFunctionEvaluations,
            "SMLP_STOP_LINE_SEARCH_FAILED": .lineSearchFailed,
        ])
        check("smlp_cache_kind", ["SMLP_CACHE_Z": CacheKind.preActivation, "SMLP_CACHE_A": .activation,
                                  "SMLP_CACHE_DZ": .delta])
    }

    func testScheduleKindFollowsTheSchedule() {
        XCTAssertEqual(LearningRateSchedule.constant.kind, .constant)
        XCTAssertEqual(LearningRateSchedule.step(stepSize: 3, gamma: 0.5).kind, .step)
        XCTAssertEqual(LearningRateSchedule.exponential(gamma: 0.9).kind, .exponential)
        XCTAssertEqual(LearningRateSchedule.cosine(period: 10, minimum: 0).kind, .cosine)
        XCTAssertEqual(LearningRateSchedule.inverseScaling(power: 0.5).kind, .inverseScaling)
    }
}
