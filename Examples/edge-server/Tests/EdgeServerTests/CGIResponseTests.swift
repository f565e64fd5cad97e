import EdgeServer
import XCTest

/// The parser of a handler's output, on its own: every guest-controlled length and byte.
final class CGIResponseTests: XCTestCase {
    func parse(_ text: String) throws -> CGIResponse { try CGIResponse(parsing: Array(text.utf8)) }

    func testStatusHeaderAndBody() throws {
        let r = try parse("Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nnope\n")
        XCTAssertEqual(r.status, 404)
        XCTAssertEqual(r.reason, "Not Found")
        XCTAssertEqual(r.headers, [.init(name: "Content-Type", value: "text/plain")])
        XCTAssertEqual(r.body, Array("nope\n".utf8))
    }

    func testBareNewlinesAndDefaultStatus() throws {
        let r = try parse("X-A: 1\n\nbody\r\n\r\nmore")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.body, Array("body\r\n\r\nmore".utf8))
        XCTAssertEqual(try parse("\r\n").body, [])
        XCTAssertEqual(try parse("\n\n").headers, [])
    }

    func testStatusLine() throws {
        XCTAssertEqual(try parse("HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\n").status, 302)
        XCTAssertThrowsError(try parse("HTTP/1.1\r\n\r\n"))
    }

    func testFramingHeadersAreDropped() throws {
        let r = try parse("Content-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\nX-Y: z\r\n\r\nab")
        XCTAssertEqual(r.headers, [.init(name: "X-Y", value: "z")])
        XCTAssertEqual(r.body, Array("ab".utf8))
    }

    func testRefusals() {
        for bad in ["", "body", "Status: 100\r\n\r\n", "Status: 600\r\n\r\n", "Status: 2000\r\n\r\n", "Status: 20x\r\n\r\n",
                    "Status: -200\r\n\r\n", "No colon\r\n\r\n", ": empty name\r\n\r\n", "A B: c\r\n\r\n", "A: b\u{0}c\r\n\r\n",
                    "A: b\u{7f}\r\n\r\n", "Status: 200 OK\u{1b}\r\n\r\n"] {
            XCTAssertThrowsError(try parse(bad), bad.debugDescription)
        }
    }

    func testBoundedHead() {
        let longValue = "X: " + String(repeating: "a", count: 20_000) + "\r\n\r\n"
        XCTAssertThrowsError(try parse(longValue))
        let manyFields = String(repeating: "X: y\r\n", count: 101) + "\r\n"
        XCTAssertThrowsError(try parse(manyFields))
        XCTAssertNoThrow(try parse(String(repeating: "X: y\r\n", count: 100) + "\r\n"))
    }

    func testEnvironment() {
        let v = CGIEnvironment.variables(method: "POST", handler: "json", pathInfo: "/a/b", query: "x=1",
                                         headers: [("Content-Type", "application/json"), ("X-Forwarded-For", "1.2.3.4"),
                                                   ("Accept", "a"), ("accept", "b"), ("Content-Length", "999"), ("X-Nul", "a\0b")],
                                         contentLength: 3, requestID: "abc", serverPort: 80)
        let d = Dictionary(v, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(d["REQUEST_METHOD"], "POST")
        XCTAssertEqual(d["PATH_INFO"], "/a/b")
        XCTAssertEqual(d["QUERY_STRING"], "x=1")
        XCTAssertEqual(d["CONTENT_TYPE"], "application/json")
        XCTAssertEqual(d["CONTENT_LENGTH"], "3")
        XCTAssertEqual(d["HTTP_X_FORWARDED_FOR"], "1.2.3.4")
        XCTAssertEqual(d["HTTP_ACCEPT"], "a, b")
        XCTAssertEqual(d["HTTP_X_NUL"], "a b")
        XCTAssertEqual(d["REQUEST_ID"], "abc")
        XCTAssertEqual(v.count, d.count, "one variable per name")
    }
}
