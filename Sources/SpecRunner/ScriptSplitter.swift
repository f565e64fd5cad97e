/// Splits a .wast script into its top-level directives (balanced parenthesised forms).
///
/// Each directive is then parsed on its own, so a directive the text parser rejects (as many
/// `assert_malformed` ones must be) is reported against its own line and never hides the rest of the
/// file. The splitter knows just enough of the lexical syntax for that: strings with escapes, line
/// comments (`;;`) and nested block comments (`(; ;)`).
public struct ScriptDirective: Sendable {
    /// The directive keyword: `module`, `assert_return`, `register`, ...
    public var keyword: String
    /// 1-based line where the directive starts.
    public var line: Int
    public var text: String
}

public enum ScriptSplitter {
    public static func split(_ source: String) -> [ScriptDirective] {
        let bytes = Array(source.utf8)
        var directives: [ScriptDirective] = []
        var i = 0
        var line = 1
        let n = bytes.count

        func skipBlockComment() {
            // At "(;": skip to the matching ";)", counting nesting and newlines.
            var depth = 0
            while i < n {
                if bytes[i] == UInt8(ascii: "(") && i + 1 < n && bytes[i + 1] == UInt8(ascii: ";") {
                    depth += 1
                    i += 2
                } else if bytes[i] == UInt8(ascii: ";") && i + 1 < n && bytes[i + 1] == UInt8(ascii: ")") {
                    depth -= 1
                    i += 2
                    if depth == 0 { return }
                } else {
                    if bytes[i] == UInt8(ascii: "\n") { line += 1 }
                    i += 1
                }
            }
        }

        func skipLineComment() {
            while i < n && bytes[i] != UInt8(ascii: "\n") { i += 1 }
        }

        func skipString() {
            i += 1  // opening quote
            while i < n && bytes[i] != UInt8(ascii: "\"") {
                if bytes[i] == UInt8(ascii: "\\") { i += 1 }
                if i < n && bytes[i] == UInt8(ascii: "\n") { line += 1 }
                i += 1
            }
            i += 1  // closing quote
        }

        while i < n {
            let c = bytes[i]
            if c == UInt8(ascii: "\n") {
                line += 1
                i += 1
            } else if c == UInt8(ascii: ";") && i + 1 < n && bytes[i + 1] == UInt8(ascii: ";") {
                skipLineComment()
            } else if c == UInt8(ascii: "(") && i + 1 < n && bytes[i + 1] == UInt8(ascii: ";") {
                skipBlockComment()
            } else if c == UInt8(ascii: "(") {
                let start = i
                let startLine = line
                var depth = 0
                while i < n {
                    let d = bytes[i]
                    if d == UInt8(ascii: "\"") {
                        skipString()
                        continue
                    }
                    if d == UInt8(ascii: ";") && i + 1 < n && bytes[i + 1] == UInt8(ascii: ";") {
                        skipLineComment()
                        continue
                    }
                    if d == UInt8(ascii: "(") && i + 1 < n && bytes[i + 1] == UInt8(ascii: ";") {
                        skipBlockComment()
                        continue
                    }
                    if d == UInt8(ascii: "\n") { line += 1 }
                    if d == UInt8(ascii: "(") { depth += 1 }
                    if d == UInt8(ascii: ")") {
                        depth -= 1
                        if depth == 0 {
                            i += 1
                            break
                        }
                    }
                    i += 1
                }
                let end = min(i, n)
                let text = String(decoding: bytes[start..<end], as: UTF8.self)
                directives.append(ScriptDirective(keyword: keyword(in: bytes, after: start), line: startLine, text: text))
            } else {
                i += 1
            }
        }
        return directives
    }

    static func keyword(in bytes: [UInt8], after open: Int) -> String {
        var j = open + 1
        while j < bytes.count && (bytes[j] == UInt8(ascii: " ") || bytes[j] == UInt8(ascii: "\n") || bytes[j] == UInt8(ascii: "\t")) {
            j += 1
        }
        let start = j
        while j < bytes.count, bytes[j] != UInt8(ascii: " "), bytes[j] != UInt8(ascii: "\n"), bytes[j] != UInt8(ascii: "\t"),
            bytes[j] != UInt8(ascii: "("), bytes[j] != UInt8(ascii: ")")
        {
            j += 1
        }
        return String(decoding: bytes[start..<j], as: UTF8.self)
    }
}
