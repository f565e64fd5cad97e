import Foundation
import Testing
@testable import SpecRunner

/// v128 expectations in scripts: exact values, and float-lane patterns whose NaN lanes are checked
/// as the spec says (canonical: exactly the canonical NaN of either sign; arithmetic: quiet bit).
@Suite("spec runner: v128 results and NaN lane patterns")
struct V128PatternTests {
    static let script = """
        (module
          (func (export "quietPayload") (result v128) (v128.const i32x4 0x7fc00001 0 0xffc00000 0))
          (func (export "canonical") (result v128) (v128.const i32x4 0x7fc00000 0 0xffc00000 0))
          (func (export "signaling") (result v128) (v128.const i64x2 0x7ff0000000000001 0))
          (func (export "echo") (param v128) (result v128) (local.get 0)))
        (assert_return (invoke "canonical") (v128.const f32x4 nan:canonical 0 nan:canonical 0))
        (assert_return (invoke "quietPayload") (v128.const f32x4 nan:arithmetic 0 nan:canonical 0))
        (assert_return (invoke "echo" (v128.const i16x8 1 2 3 4 5 6 7 -1)) (v128.const i16x8 1 2 3 4 5 6 7 -1))
        (assert_return (invoke "quietPayload") (v128.const f32x4 nan:canonical 0 nan:canonical 0))
        (assert_return (invoke "signaling") (v128.const f64x2 nan:arithmetic 0))
        (assert_return (invoke "echo" (v128.const i32x4 1 2 3 4)) (v128.const i32x4 1 2 3 5))
        """

    @Test func nanLanesAreCheckedPerLane() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-v128-\(UUID().uuidString).wast").path
        try Self.script.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = SpecRunner().run(file: path)
        // module + 3 passing asserts; a payload NaN is not canonical, a signaling NaN is not
        // arithmetic, and a wrong lane is a wrong lane.
        #expect(result.passed == 4)
        #expect(result.failed == 3, "\(result.failures)")
        #expect(result.skipped == 0)
    }

    @Test func canonicalLanesAreReadFromTheText() {
        let text = #"(assert_return (invoke "f(" (v128.const f32x4 1 2 3 4)) (v128.const f32x4 nan:canonical 0 nan:arithmetic nan:canonical) (v128.const i32x4 0 0 0 0) (v128.const f64x2 0 nan:canonical))"#
        #expect(ValueMatching.canonicalNaNLanes(assertReturn: text) == [0b1001, 0b10])
    }
}
