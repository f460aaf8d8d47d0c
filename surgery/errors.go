package surgery

import "errors"

// Sentinel errors, for errors.Is.
var (
	// ErrUsage reports arguments that do not fit the model: an index out of
	// range, more layers to drop than the model has, an unknown output name,
	// a bad unit count, activation or initializer name.
	ErrUsage = errors.New("surgery: bad argument")
)
