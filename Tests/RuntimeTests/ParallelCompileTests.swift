import Compiler
import Foundation
import Runtime
import RuntimeABI
import Testing

/// Compiling a module's functions on several threads gives exactly the code of a sequential
/// compile: every byte, every offset, every trap site. Functions are compiled into separate pieces
/// and linked in index order, so this holds by construction; these tests check it on real modules.
@Suite("parallel compile")
struct ParallelCompileTests {
    typealias B = BinaryModule

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every .wasm in the given directories (relative to the package root), by path.
    static func wasmFiles(_ directories: [String]) -> [String] {
        directories.flatMap { directory -> [String] in
            let path = root.appendingPathComponent(directory).path
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            return names.filter { $0.hasSuffix(".wasm") }.sorted().map { "\(path)/\($0)" }
        }
    }

    /// `count` functions of type (i32) -> i32, sizes varying with the index (so biggest-first is
    /// not index order). f0(x) = x + 1, fi(x) = f(i-1)(x) + i; a branch never taken in the test
    /// calls a function further on, so calls go both ways. `invalid` bodies start with an i32.add
    /// on an empty stack.
    static func manyFunctions(_ count: Int, invalid: Set<Int> = []) -> [UInt8] {
        var m = B()
        m.types = [.init(params: [B.i32], results: [B.i32])]
        m.functions = (0..<count).map { i in
            var code: [UInt8] = invalid.contains(i) ? B.i32Add : []
            for k in 0..<(i * 7 % 23) { code += B.i32Const(Int32(k * 1000)) + B.drop }
            code += B.localGet(0) + B.i32Const(-12345) + [0x46]  // i32.eq
            code += [0x04, B.i32] + B.i32Const(0) + B.call((i * 37 + 11) % count)  // if (result i32)
            code += [0x05] + B.localGet(0) + (i == 0 ? B.i32Const(1) : B.call(i - 1) + B.i32Const(Int32(i))) + B.i32Add + B.end
            return B.Body(type: 0, code: code)
        }
        m.exports = [("last", count - 1)]
        return m.bytes
    }

    static func expectSame(_ a: CompiledModule, _ b: CompiledModule, _ what: String) {
        #expect(a.code == b.code, "\(what): code")
        #expect(a.functionOffsets == b.functionOffsets, "\(what): functionOffsets")
        #expect(a.functionEnds == b.functionEnds, "\(what): functionEnds")
        #expect(a.trapSites == b.trapSites, "\(what): trapSites")
        #expect(a.entryTrampoline == b.entryTrampoline && a.entryExit == b.entryExit, "\(what): entry")
        #expect(a.trapExit == b.trapExit && a.hostStub == b.hostStub, "\(what): trap exit, host stub")
    }

    @Test(arguments: HeapMode.allCases)
    func parallelCodeIsIdenticalToSequential(heapMode: HeapMode) throws {
        var modules = Self.wasmFiles(["Tests/wasi-programs", "Bench/kernels"]).map { path in
            (URL(fileURLWithPath: path).lastPathComponent, [UInt8](FileManager.default.contents(atPath: path)!))
        }
        #expect(modules.count >= 20, "the test programs and kernels are checked in")
        modules.append(("generated", Self.manyFunctions(500)))
        let options = CompileOptions(heapMode: heapMode)
        for (name, bytes) in modules {
            let sequential = try ModuleCompiler.compile(bytes: bytes, options: options, parallelism: 1)
            #expect(try ModuleCompiler.compile(bytes: bytes, options: options).code == sequential.code, "\(name): default")
            for parallelism in [2, 4] {
                let parallel = try ModuleCompiler.compile(bytes: bytes, options: options, parallelism: parallelism)
                Self.expectSame(sequential, parallel, "\(name) \(heapMode) parallelism \(parallelism)")
            }
        }
    }

    @Test func theLowestIndexFailingFunctionIsReported() throws {
        let bytes = Self.manyFunctions(60, invalid: [5, 40])
        var messages: [String] = []
        for parallelism in [1, 2, 4, 8] {
            do {
                _ = try ModuleCompiler.compile(bytes: bytes, options: CompileOptions(heapMode: .guarded), parallelism: parallelism)
                Issue.record("parallelism \(parallelism): an invalid module compiled")
            } catch {
                messages.append("\(error)")
            }
        }
        #expect(messages.count == 4)
        #expect(messages.allSatisfy { $0 == messages[0] }, "\(messages)")
        #expect(messages[0].contains("function 5"), "\(messages[0])")
    }

    @Test(arguments: HeapMode.allCases)
    func parallelCompiledCodeRuns(heapMode: HeapMode) throws {
        let count = 300
        let compiled = try ModuleCompiler.compile(bytes: Self.manyFunctions(count), options: CompileOptions(heapMode: heapMode),
                                                  parallelism: 4)
        let store = Store(heapMode: heapMode)
        let instance = try store.instantiate(compiled) { _, _ in nil }
        #expect(try instance.invoke("last", [.i32(1000)]) == [.i32(UInt32(1000 + 1 + count * (count - 1) / 2))])
    }
}
