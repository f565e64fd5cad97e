import ArgumentParser
import Testing
@testable import ShoalCLI

/// `shoal run`'s quick parser (`RunOptions(quickParsing:)`) must read every command line it
/// accepts exactly as ArgumentParser reads it, and leave everything else to ArgumentParser: two
/// parsers of one command line are only safe while they cannot disagree.
@Suite("shoal run: the quick parser reads what ArgumentParser reads, or declines")
struct QuickParseTests {
    /// Command lines the quick parser takes: every option, in both spellings, repeated where
    /// ArgumentParser collects, and guest arguments that look like options.
    static let accepted: [[String]] = [
        ["run", "hello.wasm"],
        ["run", "a.shoal", "x", "--dir", "y", "-v", "--", "--help"],
        ["run", "--invoke", "fac", "m.wat", "20"],
        ["run", "--invoke=fac", "m.wat", "-3"],
        ["run", "--heap", "bounded", "--fuel", "1000", "--timeout", "2s", "m.shoal"],
        ["run", "--heap=guarded", "--tier", "optimized", "m.wasm"],
        ["run", "--tier=auto", "--cache-dir", "/tmp/c", "m.wasm", "a", "b"],
        ["run", "--instances", "100", "--slots", "10", "--guard-pages", "never", "m.wasm", "{i}"],
        ["run", "--dir", "a", "--dir", "b::/c", "--env", "A=1", "--env=B=2", "--tcplisten", "127.0.0.1:0", "m.wasm"],
        ["run", "--require-signed", "k.pub", "--require-signed=j.pub", "m.shoal"],
        ["run", "--timeout", "500ms", "m.wasm"],
    ]

    /// Command lines it must leave to ArgumentParser (help, errors, shapes it does not read).
    static let declined: [[String]] = [
        ["run"], ["run", "--help"], ["run", "-h"], ["help", "run"], ["compile", "m.wasm"],
        ["run", "--bogus", "1", "m.wasm"], ["run", "--heap", "sideways", "m.wasm"], ["run", "--fuel", "lots", "m.wasm"],
        ["run", "--fuel", "-5", "m.wasm"], ["run", "--heap", "bounded", "--heap", "guarded", "m.wasm"],
        ["run", "--invoke"], ["run", "--", "m.wasm"], ["run", "--invoke="], ["run", "-x", "m.wasm"],
        ["run", "--timeout", "soon", "m.wasm"], ["run", "--generate-completion-script", "bash"],
        ["run", "--instances", "1e3", "m.wasm"], ["run", "--tier", "fastest", "m.wasm"],
    ]

    @Test("every accepted command line parses to the same options as through ArgumentParser", arguments: Self.accepted)
    func agreesWithArgumentParser(_ line: [String]) throws {
        let quick = try #require(RunOptions(quickParsing: line), "the quick parser declined \(line)")
        let parsed = try #require(try ShoalCommand.parseAsRoot(line) as? Run, "ArgumentParser did not parse \(line) as run")
        #expect(String(reflecting: quick) == String(reflecting: parsed.options), "\(line)")
    }

    @Test("the rest is left to ArgumentParser", arguments: Self.declined)
    func declines(_ line: [String]) {
        #expect(RunOptions(quickParsing: line) == nil, "\(line)")
    }
}
