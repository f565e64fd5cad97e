/// Section ids of the binary format, with their required order.
public enum SectionID: UInt8, Sendable, CaseIterable {
    case custom = 0, type, `import`, function, table, memory, global, export, start, element, code, data, dataCount

    /// Position in the order the binary format requires (the data count section sits between the
    /// element and code sections although its id is the largest).
    var order: Int {
        switch self {
        case .custom: 0
        case .dataCount: 10
        case .code: 11
        case .data: 12
        default: Int(rawValue)
        }
    }

    public var name: String {
        switch self {
        case .custom: "custom"
        case .type: "type"
        case .import: "import"
        case .function: "function"
        case .table: "table"
        case .memory: "memory"
        case .global: "global"
        case .export: "export"
        case .start: "start"
        case .element: "element"
        case .code: "code"
        case .data: "data"
        case .dataCount: "data count"
        }
    }
}
