import Foundation
import ShoalWASI
import Testing

/// Two tenants on one preopened directory, at once: one keeps swapping a directory for a symlink
/// that points outside (an attacker racing path resolution), the other keeps opening a file
/// beneath it. The kernel resolves each path beneath the preopen in one step (openat2 with
/// RESOLVE_BENEATH), so the reader only ever sees the inside file or an error — never the
/// outside one, whatever the interleaving.
@Suite("path races between two instances")
struct PathRaceTests {
    final class Box: @unchecked Sendable { var error: (any Error)?; var rounds = 0 }
    /// Hands the attacker to its thread (used there alone until `done` is signalled).
    struct Handoff: @unchecked Sendable { let guest: HostileGuest }

    @Test func swappingADirectoryForAnEscapingSymlinkNeverLeaksTheOutside() throws {
        let sandbox = try HostDirectory("race")
        let outside = try HostDirectory("outside")
        defer { sandbox.remove(); outside.remove() }
        try sandbox.write("d/f", "inside")
        try outside.write("f", "SECRET")
        let escaping = "../" + URL(fileURLWithPath: outside.path).lastPathComponent
        var configuration = WASIConfiguration(captureOutput: true)
        configuration.preopens = [(sandbox.path, "/")]
        let attacker = try HostileGuest(heap: .bounded, configuration: configuration)
        let reader = try HostileGuest(heap: .bounded, configuration: configuration)
        attacker.poke(0x100, "d")
        attacker.poke(0x110, "d.real")
        attacker.poke(0x120, escaping)

        let done = DispatchSemaphore(value: 0)
        let attack = Box()
        let handoff = Handoff(guest: attacker)
        let thread = Thread {
            let attacker = handoff.guest
            do {
                for _ in 0..<300 {
                    try attacker.call("path_rename", 3, 0x100, 1, 3, 0x110, 6)
                    try attacker.call("path_symlink", 0x120, UInt64(escaping.utf8.count), 3, 0x100, 1)
                    try attacker.call("path_unlink_file", 3, 0x100, 1)
                    try attacker.call("path_rename", 3, 0x110, 6, 3, 0x100, 1)
                    attack.rounds += 1
                }
            } catch { attack.error = error }
            done.signal()
        }
        thread.start()
        var insides = 0, refusals = 0
        for _ in 0..<600 {
            switch try reader.open("d/f") {
            case .success(let fd):
                reader.pokeIovecs(0x300, [(base: 0x400, length: 16)])
                #expect(try reader.call("fd_read", UInt64(fd), 0x300, 1, 0x310) == 0)
                let text = String(decoding: reader.peek(0x400, Int(reader.peekU32(0x310))), as: UTF8.self)
                #expect(text == "inside", "read \(text) through d/f")
                #expect(try reader.call("fd_close", UInt64(fd)) == 0)
                insides += 1
            case .failure:
                refusals += 1
            }
        }
        done.wait()
        #expect(attack.error == nil)
        #expect(attack.rounds == 300)
        print("path race: \(insides) opens of the inside file, \(refusals) refused, while the attacker swapped 300 times")
        #expect(insides + refusals == 600)
        #expect(try String(contentsOfFile: "\(outside.path)/f", encoding: .utf8) == "SECRET", "the outside file is untouched")
    }
}
