import CTVolume
import Testing

@Suite("Ranges are written LO:HI")
struct ValueRangeTests {
    @Test("LO:HI parses to the closed range, negative bounds and spaces included",
          arguments: [("50:90", 50.0...90.0), ("-100:150", -100.0...150.0), (" -1.5 : 2e2 ", -1.5...200.0), ("40:40", 40.0...40.0)])
    func parses(_ text: String, _ expected: ClosedRange<Double>) throws {
        #expect(try ValueRange.parse(text, name: "--r") == expected)
    }

    @Test("anything else is refused with an error naming the option",
          arguments: ["-100,150", "50", "a:b", "90:50", "1:2:3", ":5", "5:", "nan:1", "0:inf", ""])
    func refuses(_ text: String) {
        do {
            _ = try ValueRange.parse(text, name: "--tissue")
            Issue.record("'\(text)' parsed")
        } catch let error as CTVolumeError {
            guard case .invalidParameter(let name, _) = error else { Issue.record("\(error)"); return }
            #expect(name == "--tissue")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test("the retired comma form's error shows the colon form")
    func commaFormPointsToTheColon() {
        #expect(throws: CTVolumeError.self) { try ValueRange.parse("-100,150", name: "--tissue") }
        do { _ = try ValueRange.parse("-100,150", name: "--tissue") } catch {
            #expect("\(error)".contains("LO:HI") && "\(error)".contains("comma"))
        }
    }

    @Test("strict refuses an empty range that the default accepts")
    func strictNeedsWidth() throws {
        #expect(try ValueRange.parse("1:1", name: "--r") == 1.0...1.0)
        #expect(throws: CTVolumeError.self) { try ValueRange.parse("1:1", name: "--r", strict: true) }
    }

    @Test("text writes LO:HI that parses back to the same range",
          arguments: [50.0...90.0, -100.0...150.0, 0.5...1.25, -0.001...1e20])
    func textRoundTrips(_ range: ClosedRange<Double>) throws {
        #expect(try ValueRange.parse(ValueRange.text(range), name: "--r") == range)
    }

    @Test("whole numbers are written without a decimal point")
    func wholeNumbers() {
        #expect(ValueRange.text(-100...150) == "-100:150")
    }
}
