/// A handler's response as it wrote it to standard output, CGI-style: header lines, an empty
/// line, the body. The first line may instead be an HTTP status line (`HTTP/1.1 404 Not Found`);
/// otherwise a `Status: 404 Not Found` header sets the status, and without either it is 200.
///
/// The output is the guest's, so it is parsed as hostile input: the head is bounded (16 KiB, 100
/// fields), every name must be an HTTP token and every value free of control characters, the
/// status must be 200–599. (A head of only "\r\n" or "\n" is no header at all: status 200.) Headers the server owns (Content-Length, Transfer-Encoding,
/// Connection) are dropped: the server frames the body itself. Anything else is a
/// `CGIResponse.Malformed`, which the server answers with 502.
public struct CGIResponse: Sendable, Equatable {
    public var status: Int
    public var reason: String?
    public var headers: [Header]
    public var body: [UInt8]

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Why output is not a response.
    public struct Malformed: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    static let maxHeadBytes = 16 * 1024
    static let maxFields = 100

    /// Parses a handler's output.
    public init(parsing output: [UInt8]) throws {
        guard let (headEnd, bodyStart) = Self.endOfHead(output) else {
            throw Malformed(description: output.isEmpty ? "the handler wrote nothing" : "no empty line ends the header within \(Self.maxHeadBytes) bytes")
        }
        var lines = headEnd == 0 ? [] : output[..<headEnd].split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            line.last == UInt8(ascii: "\r") ? line.dropLast() : line
        }
        status = 200
        headers = []
        body = Array(output[bodyStart...])
        if let first = lines.first, first.starts(with: Array("HTTP/".utf8)) {
            (status, reason) = try Self.statusLine(first)
            lines.removeFirst()
        }
        guard lines.count <= Self.maxFields else { throw Malformed(description: "more than \(Self.maxFields) header fields") }
        for line in lines {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw Malformed(description: "a header line without ':'")
            }
            let name = line[..<colon]
            guard !name.isEmpty, name.allSatisfy(Self.isTokenByte) else { throw Malformed(description: "an invalid header name") }
            var value = line[(colon + 1)...]
            while let f = value.first, f == 0x20 || f == 0x09 { value.removeFirst() }
            while let l = value.last, l == 0x20 || l == 0x09 { value.removeLast() }
            guard value.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7f) }) else {
                throw Malformed(description: "a control character in a header value")
            }
            let nameText = String(decoding: name, as: UTF8.self), valueText = String(decoding: value, as: UTF8.self)
            switch nameText.lowercased() {
            case "status": (status, reason) = try Self.status(value)
            case "content-length", "transfer-encoding", "connection": continue
            default: headers.append(Header(name: nameText, value: valueText))
            }
        }
    }

    /// Where the head ends ("\r\n\r\n" or "\n\n"): the end of its last line and the body's start.
    static func endOfHead(_ output: [UInt8]) -> (Int, Int)? {
        // No header at all: the output starts with the empty line.
        if output.first == UInt8(ascii: "\n") { return (0, 1) }
        if output.count >= 2, output[0] == UInt8(ascii: "\r"), output[1] == UInt8(ascii: "\n") { return (0, 2) }
        let limit = min(output.count, maxHeadBytes)
        var i = 0
        while i < limit {
            if output[i] == UInt8(ascii: "\n") {
                if i + 1 < output.count, output[i + 1] == UInt8(ascii: "\n") { return (i, i + 2) }
                if i + 2 < output.count, output[i + 1] == UInt8(ascii: "\r"), output[i + 2] == UInt8(ascii: "\n") { return (i, i + 3) }
            }
            i += 1
        }
        return nil
    }

    /// "HTTP/1.1 404 Not Found"
    static func statusLine(_ line: ArraySlice<UInt8>) throws -> (Int, String?) {
        guard let space = line.firstIndex(of: 0x20) else { throw Malformed(description: "a status line without a status") }
        return try status(line[(space + 1)...])
    }

    /// "404 Not Found" (the reason is optional).
    static func status(_ text: ArraySlice<UInt8>) throws -> (Int, String?) {
        let digits = text.prefix(while: { $0 >= 0x30 && $0 <= 0x39 })
        guard digits.count == 3, let code = Int(String(decoding: digits, as: UTF8.self)), (200...599).contains(code) else {
            throw Malformed(description: "a status that is not a number from 200 to 599")
        }
        let rest = text.dropFirst(3)
        guard rest.isEmpty || rest.first == 0x20 else { throw Malformed(description: "a status that is not a number from 200 to 599") }
        let reason = String(decoding: rest.drop(while: { $0 == 0x20 }), as: UTF8.self)
        guard reason.unicodeScalars.allSatisfy({ $0.value == 0x09 || ($0.value >= 0x20 && $0.value != 0x7f) }) else {
            throw Malformed(description: "a control character in the status reason")
        }
        return (code, reason.isEmpty ? nil : reason)
    }

    /// RFC 9110's tchar.
    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(b)
        }
    }
}
