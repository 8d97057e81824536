/// Any JSON object key: lists an object's keys (`container(keyedBy: AnyCodingKey.self).allKeys`)
/// where the keys are not known in advance, or must be checked against the known ones.
package struct AnyCodingKey: CodingKey {
    package var stringValue: String
    package var intValue: Int? { nil }
    package init(stringValue: String) { self.stringValue = stringValue }
    package init?(intValue: Int) { nil }
}
