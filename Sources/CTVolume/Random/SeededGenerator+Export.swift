// The seeded generator lives in the package-internal target ImageCore, so that every module
// (Metrics' bootstrap among them) draws from one implementation; CTVolume re-exports it, so
// `import CTVolume` keeps giving users `SeededGenerator` and the `nextUniform()` family.
@_exported import ImageCore
