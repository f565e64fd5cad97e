import ArgumentParser
import Shoal

/// `shoal run` read without ArgumentParser, for the shapes a script runs again and again.
///
/// ArgumentParser builds its model of the command by reflection (Mirror over every property
/// wrapper, generic metadata, dynamic casts that scan all protocol conformances of a 110 MB
/// binary): about 2 ms of CPU per process, the largest part of a short run's fixed cost. This
/// parser accepts only what it reads exactly as ArgumentParser does: `run`, then `--name VALUE` or
/// `--name=VALUE` options of `Run`, then FILE and the guest's arguments (everything after FILE,
/// dashes included, as `Run`'s passthrough argument takes them). Anything else — help, an
/// unknown, repeated or malformed option, a value that starts with a dash or does not parse,
/// `--`, a completion-script request anywhere — returns nil, and ArgumentParser reads the command
/// line and reports what is wrong, as before.
extension RunOptions {
    init?(quickParsing arguments: [String]) {
        guard arguments.first == "run", !arguments.contains(where: { $0.hasPrefix("--generate-completion-script") }) else { return nil }
        var options = RunOptions(file: "")
        var seen: Set<Substring> = []
        var i = 1
        while i < arguments.count {
            let argument = arguments[i]
            guard argument.hasPrefix("-") else {
                options.file = argument
                options.arguments = Array(arguments[(i + 1)...])
                self = options
                return
            }
            guard argument.hasPrefix("--") else { return nil }
            let name: Substring, value: String
            if let equals = argument.firstIndex(of: "=") {
                name = argument[argument.index(argument.startIndex, offsetBy: 2)..<equals]
                value = String(argument[argument.index(after: equals)...])
                i += 1
            } else {
                guard i + 1 < arguments.count else { return nil }
                name = argument.dropFirst(2)
                value = arguments[i + 1]
                i += 2
            }
            guard !value.isEmpty, !value.hasPrefix("-"), options.set(name, to: value, repeated: !seen.insert(name).inserted) else { return nil }
        }
        return nil  // no FILE
    }

    /// Sets option `name` from `value` as ArgumentParser would; false if this parser leaves it to
    /// ArgumentParser (unknown, repeated single value, or not a value of its type).
    private mutating func set(_ name: Substring, to value: String, repeated: Bool) -> Bool {
        switch name {
        case "dir": directories.append(value)
        case "env": environment.append(value)
        case "tcplisten": tcpListen.append(value)
        case "require-signed": requiredSigners.append(value)
        case _ where repeated: return false
        case "invoke": invoke = value
        case "cache-dir": cacheDirectory = value
        case "heap": heapOption = HeapMode(argument: value)
            return heapOption != nil
        case "tier":
            guard let tier = Tiering(argument: value) else { return false }
            self.tier = tier
        case "fuel": fuel = Int64(argument: value)
            return fuel != nil
        case "timeout": timeout = Duration(argument: value)
            return timeout != nil
        case "instances": instances = Int(argument: value)
            return instances != nil
        case "slots": slots = Int(argument: value)
            return slots != nil
        case "guard-pages":
            guard let guardPages = GuardPages(argument: value) else { return false }
            self.guardPages = guardPages
        default: return false
        }
        return true
    }
}
