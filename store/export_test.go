package store

// For the external tests (package store_test), which use internal/audittamper:
// that package imports store, so a test inside package store cannot.
var (
	WithAllEngines = withAllEngines
	AppendN        = appendN
)
