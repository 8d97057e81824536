import Testing
import CTVolume

@Suite struct WindowTests {
    @Test func formulaAndClamping() {
        let w = Window.brain  // lower edge 0, width 80
        #expect(w.apply(0) == 0)
        #expect(w.apply(40) == 0.5)
        #expect(w.apply(80) == 1)
        #expect(w.apply(-1000) == 0 && w.apply(3000) == 1)
        #expect(Window.bone.apply(600) == 0.5)
        #expect(abs(Window.subdural.apply(100) - 0.6) < 1e-7)  // (100 - (-20)) / 200
    }

    @Test func presetsAndDefaultsAreTheMethodsWindows() {
        #expect(Window.defaults.map { [$0.center, $0.width] } == [[40, 80], [80, 200], [600, 2800]])
        #expect(Window.stroke == Window(center: 40, width: 40))
    }

    @Test func parsing() throws {
        #expect(try Window.parse("Brain") == .brain)
        #expect(try Window.parse(" bone ") == .bone)
        #expect(try Window.parse("-600,1500") == Window(center: -600, width: 1500))
        #expect(try Window.parse("40, 80") == .brain)
        #expect(try Window.parse(Window.subdural.description) == .subdural)
        #expect(throws: CTVolumeError.self) { try Window.parse("lung") }
        #expect(throws: CTVolumeError.self) { try Window.parse("40,0") }
        #expect(throws: CTVolumeError.self) { try Window.parse("40") }
    }

    @Test func stackIsChannelMajor() {
        let s = Window.stack([0, 40, 80], windows: [.brain, .stroke])
        #expect(s == [0, 0.5, 1, 0, 0.5, 1])
    }
}
