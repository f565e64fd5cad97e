import ArgumentParser

@main
struct ShoalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shoal",
        abstract: "Shoal: an ahead-of-time WebAssembly compiler and runtime for dense, concurrent instances.",
        subcommands: [Run.self, Wast.self, Validate.self]
    )
}
