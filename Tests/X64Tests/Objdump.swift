import Foundation
import Testing
@testable import X64

/// Disassembles machine code with GNU objdump and compares each instruction with the Intel-syntax
/// text a test expects. objdump (binutils) is installed by Scripts/install-deps.sh; without it the
/// encoding tests fail with a message saying so.
struct Objdump {
    static let path: String? = ["/usr/bin/objdump", "/usr/local/bin/objdump"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// One normalized line per instruction: mnemonic and operands, single spaces, no comments.
    static func disassemble(_ code: [UInt8]) throws -> [String] {
        guard let path else { throw DisassemblyError(message: "objdump not found: install binutils (Scripts/install-deps.sh)") }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-x64-\(UUID().uuidString).bin")
        try Data(code).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-D", "-b", "binary", "-m", "i386:x86-64", "-M", "intel", "-w", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var lines: [String] = []
        for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count >= 3, fields[0].hasSuffix(":") else { continue }
            var text = String(fields[2])
            if let hash = text.firstIndex(of: "#") { text = String(text[..<hash]) }
            lines.append(normalize(text))
        }
        return lines
    }

    static func normalize(_ text: String) -> String {
        text.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    struct DisassemblyError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

/// Collects instructions with their expected disassembly, then checks them in one objdump run.
struct EncodingBatch {
    var asm = Assembler()
    var expected: [String] = []

    mutating func add(_ text: String, _ emit: (inout Assembler) -> Void) {
        emit(&asm)
        expected.append(Objdump.normalize(text))
    }

    mutating func check(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let code = asm.finish()
        let actual = try Objdump.disassemble(code)
        #expect(actual.count == expected.count, "instruction count", sourceLocation: sourceLocation)
        var mismatches = 0
        for (a, e) in zip(actual, expected) where a != e {
            mismatches += 1
            if mismatches <= 20 { Issue.record("expected \"\(e)\", objdump says \"\(a)\"", sourceLocation: sourceLocation) }
        }
    }
}

/// Intel-syntax names, as objdump prints them.
enum Names {
    static let r64 = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"] + (8...15).map { "r\($0)" }
    static let r32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] + (8...15).map { "r\($0)d" }
    static let r16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"] + (8...15).map { "r\($0)w" }
    static let r8 = ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil"] + (8...15).map { "r\($0)b" }

    static func reg(_ r: Reg, _ w: Width) -> String {
        switch w {
        case .b8: r8[Int(r.id)]
        case .b16: r16[Int(r.id)]
        case .b32: r32[Int(r.id)]
        case .b64: r64[Int(r.id)]
        }
    }

    static func ptr(_ w: Width) -> String {
        switch w {
        case .b8: "BYTE PTR"
        case .b16: "WORD PTR"
        case .b32: "DWORD PTR"
        case .b64: "QWORD PTR"
        }
    }

    static func hex(_ v: Int64) -> String { v < 0 ? "-0x" + String(UInt64(-v), radix: 16) : "0x" + String(v, radix: 16) }

    /// objdump's rendering of a memory operand: [base+index*scale+disp], with +0x0 kept when the
    /// encoding has a displacement byte (rbp/r13 bases).
    static func mem(_ m: Mem) -> String {
        var text = "[" + r64[Int(m.base.id)]
        if let index = m.index { text += "+" + r64[Int(index.id)] + "*\(m.scale)" }
        if m.disp != 0 {
            text += m.disp < 0 ? hex(Int64(m.disp)) : "+" + hex(Int64(m.disp))
        } else if m.base.id & 7 == 5 {
            text += "+0x0"
        }
        return text + "]"
    }

    static let conditions = ["o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"]
}
