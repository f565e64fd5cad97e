import Foundation
import Testing

/// `shoal compile`, `inspect`, `keygen`, and `shoal run` of an artifact, as a user runs them: the
/// built executable in a child process (see `ShoalCommand`).
@Suite("shoal compile, inspect, keygen; run of an artifact", .enabled(if: ShoalCommand.executable != nil, "the shoal executable is not built"))
struct ArtifactCommandTests {
    static func compile(_ arguments: [String]) throws -> ShoalCommand.Outcome {
        try ShoalCommand.run(arguments, subcommand: "compile")
    }

    static func inspect(_ file: String) throws -> ShoalCommand.Outcome {
        try ShoalCommand.run([file], subcommand: "inspect")
    }

    /// A fresh temporary directory.
    static func directory() throws -> String {
        URL(fileURLWithPath: try ShoalCommand.file("x", "")).deletingLastPathComponent().path
    }

    /// hello.wasm compiled to an artifact in a fresh directory (with `flags`), and its path.
    static func hello(_ flags: [String] = []) throws -> String {
        let artifact = try directory() + "/hello.shoal"
        let outcome = try compile(flags + ["\(programs)/hello.wasm", "-o", artifact])
        #expect(outcome.status == 0 && outcome.stdoutBytes == 0 && outcome.stderr.isEmpty, "\(outcome.stderr)")
        return artifact
    }

    static let arithmetic = """
        (module
          (func $fac (export "fac") (param i64) (result i64)
            (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 1))
              (else (i64.mul (local.get 0) (call $fac (i64.sub (local.get 0) (i64.const 1)))))))
          (func $half (export "half") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5)))
          (memory (export "mem") 1 3))
        """

    @Test("A compiled WASI program runs as the .wasm does: arguments, environment, stdout, exit code")
    func compiledWASIProgramRunsLikeTheModule() throws {
        let artifact = try Self.hello()
        let arguments = ["--env", "GREETING=hi", "ARTIFACT", "one", "5"]
        let direct = try ShoalCommand.run(arguments.map { $0 == "ARTIFACT" ? "\(programs)/hello.wasm" : $0 })
        let compiled = try ShoalCommand.run(arguments.map { $0 == "ARTIFACT" ? artifact : $0 })
        #expect(direct.status == 5 && compiled.status == 5, "\(compiled.stderr)")
        #expect(compiled.stdoutTail == "hello from wasi\narg 1: one\narg 2: 5\nGREETING=hi\n")
        #expect(compiled.stdoutTail == direct.stdoutTail)
    }

    @Test("The default output is FILE with .shoal for its extension; an invalid module exits 1")
    func defaultOutputAndInvalidModule() throws {
        let source = try ShoalCommand.file("arith.wat", Self.arithmetic)
        #expect(try Self.compile([source]).status == 0)
        #expect(FileManager.default.fileExists(atPath: source.replacingOccurrences(of: ".wat", with: ".shoal")))
        let bad = try ShoalCommand.file("bad.wat", "(module (func (result i32) (i64.const 1)))")
        let outcome = try Self.compile([bad])
        #expect(outcome.status == 1 && outcome.stderr.hasPrefix("error: "), "\(outcome.stderr)")
    }

    @Test("--invoke on a compiled .wat prints what the module prints")
    func invokeOnACompiledTextModule() throws {
        let source = try ShoalCommand.file("arith.wat", Self.arithmetic)
        let artifact = source + ".shoal"
        #expect(try Self.compile([source, "-o", artifact]).status == 0)
        for (name, argument) in [("fac", "20"), ("half", "3")] {
            let direct = try ShoalCommand.run(["--invoke", name, source, argument])
            let compiled = try ShoalCommand.run(["--invoke", name, artifact, argument])
            #expect(compiled.status == 0, "\(compiled.stderr)")
            #expect(compiled.stdoutTail == direct.stdoutTail && !direct.stdoutTail.isEmpty)
        }
        #expect(try ShoalCommand.run(["--invoke", "fac", artifact, "20"]).stdoutTail == "2432902008176640000\n")
    }

    @Test("inspect shows the header, sections, contract, imports, exports and code size per function")
    func inspectShowsTheArtifact() throws {
        let artifact = try Self.hello()
        let outcome = try Self.inspect(artifact)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let text = outcome.stdoutTail
        for wanted in ["Shoal artifact, format version 3, ABI version 2, unsigned", "sections:", "contract", "code tables", "code ",
                       "heap: guarded, reservation 8590000128 bytes (8 GiB + 64 KiB)", "options: heap mode guarded, yield checks on, fuel off",
                       "tier: baseline (0 functions optimized, ", "CPU features:", "source SHA-256:", "compiler: shoal-compiler", "ABI version: 2",
                       "wasi_snapshot_preview1.fd_write: func [i32 i32 i32 i32] -> [i32]", "\"_start\": func [] -> []",
                       "\"memory\": memory", "functions (", "func[", "totals:"] {
            #expect(text.contains(wanted), "missing \(wanted) in\n\(text)")
        }
        // Per-function sizes, with the names of the name section.
        let source = try ShoalCommand.file("arith.wat", Self.arithmetic)
        #expect(try Self.compile([source, "--heap", "bounded", "--fuel", "-o", source + ".shoal"]).status == 0)
        let arithmetic = try Self.inspect(source + ".shoal").stdoutTail
        for wanted in ["heap: bounded, reservation 196608 bytes (192 KiB), guard 0 bytes", "initial 1 pages, maximum 3 pages",
                       "fuel on", "imports (0):", "\"fac\": func [i64] -> [i64]", "\"mem\": memory 1..3", "totals: 2 functions"] {
            #expect(arithmetic.contains(wanted), "missing \(wanted) in\n\(arithmetic)")
        }
        let functionLines = arithmetic.split(separator: "\n").filter { $0.hasPrefix("  func[") }
        #expect(functionLines.count == 2 && functionLines.allSatisfy { $0.split(separator: " ").count >= 2 }, "\(functionLines)")
        // A module is not an artifact.
        let module = try Self.inspect("\(programs)/hello.wasm")
        #expect(module.status == 1 && module.stderr.contains("not a Shoal artifact") && module.stderr.contains("shoal compile"))
    }

    @Test("keygen, compile --sign, run --require-signed; unsigned and wrongly signed artifacts are refused")
    func signing() throws {
        let dir = try Self.directory()
        let keygen = try ShoalCommand.run(["-o", "\(dir)/k"], subcommand: "keygen")
        #expect(keygen.status == 0, "\(keygen.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: "\(dir)/k.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try ShoalCommand.run(["-o", "\(dir)/k"], subcommand: "keygen").status == 1, "keygen must not overwrite")
        #expect(try ShoalCommand.run(["-o", "\(dir)/other"], subcommand: "keygen").status == 0)
        let signed = try Self.hello(["--sign", "\(dir)/k.key"])
        #expect(try Self.inspect(signed).stdoutTail.contains("signed (Ed25519)"))
        let run = try ShoalCommand.run(["--require-signed", "\(dir)/other.pub", "--require-signed", "\(dir)/k.pub", signed, "x", "0"])
        #expect(run.status == 0 && run.stdoutTail.hasPrefix("hello from wasi\n"), "\(run.stderr)")
        let unsigned = try ShoalCommand.run(["--require-signed", "\(dir)/k.pub", try Self.hello()])
        #expect(unsigned.status == 1 && unsigned.stderr.contains("not signed"), "\(unsigned.stderr)")
        let wrongKey = try ShoalCommand.run(["--require-signed", "\(dir)/other.pub", signed])
        #expect(wrongKey.status == 1 && wrongKey.stderr.contains("signature does not verify"), "\(wrongKey.stderr)")
        let module = try ShoalCommand.run(["--require-signed", "\(dir)/k.pub", "\(programs)/hello.wasm"])
        #expect(module.status == 1 && module.stderr.contains("only artifacts can be signed"), "\(module.stderr)")
        #expect(try ShoalCommand.run(["-o", "\(dir)/k", "--force"], subcommand: "keygen").status == 0)
        let rotated = try ShoalCommand.run(["--require-signed", "\(dir)/k.pub", signed])
        #expect(rotated.status == 1 && rotated.stderr.contains("signature does not verify"), "\(rotated.stderr)")
    }

    @Test("A corrupted artifact is refused by run and inspect: the checksum")
    func corruptedArtifactIsRefused() throws {
        let artifact = try Self.hello()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: artifact))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: artifact))
        for outcome in [try ShoalCommand.run([artifact]), try Self.inspect(artifact)] {
            #expect(outcome.status == 1 && outcome.stderr.contains("CRC-32C checksum does not match"), "\(outcome.stderr)")
        }
    }

    @Test("run configures the engine from the contract: a bounded, fuel-counting artifact; --heap and --fuel must agree")
    func engineFollowsTheContract() throws {
        let bounded = try Self.hello(["--heap", "bounded", "--fuel"])
        let run = try ShoalCommand.run([bounded, "a", "3"])
        #expect(run.status == 3 && run.stdoutTail.hasPrefix("hello from wasi\narg 1: a\n"), "\(run.stderr)")
        #expect(try ShoalCommand.run(["--fuel", "10000000", bounded]).status == 0)
        let exhausted = try ShoalCommand.run(["--fuel", "10", bounded])
        #expect(exhausted.status == 134 && exhausted.stderr.contains("fuel"), "\(exhausted.stderr)")
        let heap = try ShoalCommand.run(["--heap", "guarded", bounded])
        #expect(heap.status == 1 && heap.stderr.contains("compiled for bounded heaps"), "\(heap.stderr)")
        let fuel = try ShoalCommand.run(["--fuel", "100", try Self.hello()])
        #expect(fuel.status == 1 && fuel.stderr.contains("without fuel counting"), "\(fuel.stderr)")
    }

    @Test("--instances runs an artifact concurrently, guarded or bounded")
    func instancesOfAnArtifact() throws {
        for flags in [[], ["--heap", "bounded"]] {
            let artifact = try Self.hello(flags)
            let outcome = try ShoalCommand.run(["--instances", "20", artifact, "z"])
            #expect(outcome.status == 0, "\(outcome.stderr)")
            #expect(outcome.stdoutTail.contains("completed:      20"), "\(outcome.stdoutTail)")
            #expect(outcome.stdoutTail.components(separatedBy: "arg 1: z\n").count == 21)
        }
    }
}
