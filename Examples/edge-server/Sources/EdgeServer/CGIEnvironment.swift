/// The CGI/1.1 meta-variables (RFC 3875) a handler gets for one request, as its WASI environment.
///
/// Everything here comes from the client; the handler must treat it as such. The server only
/// guarantees the shape: names are upper-case `[A-Z0-9_]`, and no value holds a NUL (HTTP's
/// parser already refuses control characters in header values; a NUL would cut the guest's C
/// string short, so any is replaced).
public enum CGIEnvironment {
    /// The variables for a request: method, the path below the handler's route (PATH_INFO), the
    /// query, the body's length and type, each header as HTTP_NAME, and the request's id.
    public static func variables(method: String, handler: String, pathInfo: String, query: String?,
                                 headers: [(name: String, value: String)], contentLength: Int,
                                 requestID: String, serverPort: Int) -> [(String, String)] {
        var variables: [(String, String)] = [
            ("GATEWAY_INTERFACE", "CGI/1.1"),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
            ("SERVER_SOFTWARE", "shoal-edge-server"),
            ("SERVER_PORT", String(serverPort)),
            ("REQUEST_METHOD", method),
            ("SCRIPT_NAME", "/" + handler),
            ("PATH_INFO", pathInfo),
            ("QUERY_STRING", query ?? ""),
            ("CONTENT_LENGTH", String(contentLength)),
            ("REQUEST_ID", requestID),
        ]
        var seen: [String: Int] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            // Content-Length is the body's real length (above); hop-by-hop headers are the server's.
            if lower == "content-length" || lower == "connection" || lower == "transfer-encoding" { continue }
            let key = lower == "content-type" ? "CONTENT_TYPE" : "HTTP_" + metaName(name)
            let clean = value.contains("\0") ? value.replacingOccurrences(of: "\0", with: " ") : value
            // A header sent twice is one variable with the values joined, as RFC 3875 says.
            if let index = seen[key] {
                variables[index].1 += ", " + clean
            } else {
                seen[key] = variables.count
                variables.append((key, clean))
            }
        }
        return variables
    }

    /// A header name as a meta-variable name: upper case, '-' (and anything else outside
    /// [A-Z0-9]) as '_'.
    static func metaName(_ name: String) -> String {
        String(String.UnicodeScalarView(name.unicodeScalars.map { scalar -> Unicode.Scalar in
            switch scalar {
            case "a"..."z": Unicode.Scalar(scalar.value - 32)!
            case "A"..."Z", "0"..."9": scalar
            default: "_"
            }
        }))
    }
}
