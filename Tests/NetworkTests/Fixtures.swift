import Foundation
import TestSupport

/// URL of a fixture made by scripts/fixtures/network_fixtures.py.
func fixtureURL(_ name: String) -> URL {
    FixtureFile.url(name, in: .module, madeBy: "scripts/fixtures/network_fixtures.py")
}
