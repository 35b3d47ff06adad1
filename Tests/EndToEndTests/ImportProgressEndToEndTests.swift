import Foundation
import JSONRPC
import Testing

/// PROTOCOL §10: imports accept `workDoneToken` and report `$/progress`.
@Suite("Import progress")
struct ImportProgressEndToEndTests {
    @Test func importsReportBeginAndEnd() throws {
        let s = try ServerProcess.start()
        let session = try s.call("session/create", ["name": "x", "mode": "testing"])
        let snapshot = try s.call("session/export", ["id": session["id"]!])
        _ = try s.call("session/import", ["snapshot": snapshot, "onConflict": "newId", "workDoneToken": "imp-1"])
        let begin = try s.nextNotification(method: "$/progress")
        #expect(begin["token"] == "imp-1")
        #expect(begin["value"]?["kind"] == "begin")
        let end = try s.nextNotification(method: "$/progress")
        #expect(end["value"]?["kind"] == "end")

        let template = try s.call("template/create", ["name": "T", "type": "prompt", "content": "hi {{who}}"])
        let exported = try s.call("template/export", ["id": template["template"]!["id"]!])
        let failed = try s.callExpectingError("template/import", ["snapshot": exported, "workDoneToken": 7])
        #expect(failed.code == 1003)
        #expect(try s.nextNotification(method: "$/progress")["value"]?["kind"] == "begin")
        let failedEnd = try s.nextNotification(method: "$/progress")
        #expect(failedEnd["token"] == 7)
        #expect(failedEnd["value"]?["message"]?.stringValue?.contains("failed") == true)
        // Without a token, nothing is sent.
        _ = try s.call("template/import", ["snapshot": exported, "onConflict": "newId"])
        try s.closeInputAndWait()
        #expect(!s.pendingMessages.contains { $0["method"] == "$/progress" })
    }
}
