import Foundation
import Shoal

// A grading farm in miniature: every WASI program of a directory, run on the same inputs,
// concurrently, each run with its own stdin, captured stdout and stderr, and limits; then a
// table of how the runs ended and whether they were right.
//
//   swift run wasi-batch programs/ --inputs 20 --timeout 2s [--fuel N]   (from Examples/wasi-batch)

let options = Options.parse(CommandLine.arguments.dropFirst())

// MARK: The engine

var configuration = EngineConfiguration()
configuration.threads = ProcessInfo.processInfo.activeProcessorCount
configuration.slots = 256                     // runs alive at once; the rest queue
configuration.memoryPages = Options.enginePages  // the ceiling of any run's memory limit
configuration.timeSlice = .milliseconds(2)    // a spinning program cannot hold a thread
configuration.admission = .queue(limit: 100_000)
configuration.fuel = options.fuel != nil      // fuel limits need fuel counting compiled in
let engine = try Engine(configuration)
defer { engine.shutdown() }

// MARK: The programs

let directory = URL(fileURLWithPath: options.directory)
let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
    .filter { $0.pathExtension == "wasm" }
    .sorted { $0.lastPathComponent < $1.lastPathComponent }
guard !files.isEmpty else { Options.usage("no .wasm files in \(options.directory)") }

/// A program ready to run: its name (the file's, without .wasm) and compiled module.
struct Program: Sendable {
    var name: String
    var module: Module
}

var programs: [Program] = []
var compileFailures = 0
for file in files {
    let name = file.deletingPathExtension().lastPathComponent
    do {
        programs.append(Program(name: name, module: try await engine.compile([UInt8](try Data(contentsOf: file)))))
    } catch {
        print("\(name): does not compile: \(error)")
        compileFailures += 1
    }
}

// MARK: The runs

let inputs = (0..<options.inputs).map(Oracle.input)
let limits = Limits(wallTime: options.timeout, fuel: options.fuel, memoryPages: options.memoryPages)
print("""
    running \(programs.count) programs x \(inputs.count) inputs (timeout \(options.timeout), \
    fuel \(options.fuel.map(String.init) ?? "off"), \(options.memoryPages) pages of memory)...
    """)

/// One run's result, or why it could not run.
struct Run: Sendable {
    var program: Int
    var input: Int
    var result: CallResult?
    var error: (any Error)?
}

let clock = ContinuousClock()
let started = clock.now
// One task per run: the engine bounds how many are alive (its slots) and queues the rest.
let runs = await withTaskGroup(of: Run.self) { group in
    for (p, program) in programs.enumerated() {
        for (k, input) in inputs.enumerated() {
            group.addTask {
                var wasi = WASIConfiguration(arguments: [program.name], captureOutput: true)
                wasi.stdin = input
                do {
                    let result = try await engine.call(program.module, .wasi(wasi, limits: limits))
                    return Run(program: p, input: k, result: result)
                } catch {
                    return Run(program: p, input: k, error: error)
                }
            }
        }
    }
    var runs: [Run] = []
    for await run in group { runs.append(run) }
    return runs
}
let wall = clock.now - started

// MARK: The summary

var tallies = programs.map { (name: $0.name, tally: Tally()) }
for run in runs.sorted(by: { ($0.program, $0.input) < ($1.program, $1.input) }) {
    let expected = Oracle.expectation(program: programs[run.program].name, input: inputs[run.input])
    tallies[run.program].tally.add(input: run.input, result: run.result, error: run.error, expected: expected)
}
print()
Table.print(tallies)
print()
let wrong = tallies.map(\.tally.wrong).reduce(0, +)
print(String(format: "%d runs in %.2f s; %d unexpected", runs.count,
             Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18, wrong))
engine.shutdown()
exit(wrong == 0 && compileFailures == 0 ? 0 : 1)
