package layers

import "github.com/xferml/xfer/model"

// InitializerClass returns the Keras class name for a snake-case initializer
// name ("glorot_uniform" -> "GlorotUniform"); unknown names are returned as is.
func InitializerClass(name string) string {
	if c, ok := initializerClasses[name]; ok {
		return c
	}
	return name
}

// InitializerName returns the snake-case name for a Keras initializer class
// or alias ("GlorotUniform", "glorot_uniform" -> "glorot_uniform"). ok is
// false for names Keras does not define (custom functions).
func InitializerName(class string) (name string, ok bool) {
	if _, ok := initializerClasses[class]; ok {
		return class, true
	}
	for k, v := range initializerClasses {
		if v == class {
			return k, true
		}
	}
	switch class {
	case "zero":
		return "zeros", true
	case "one":
		return "ones", true
	case "normal", "RandomNormal":
		return "random_normal", true
	case "uniform", "RandomUniform":
		return "random_uniform", true
	}
	return class, false
}

var initializerClasses = map[string]string{
	"glorot_uniform":   "GlorotUniform",
	"glorot_normal":    "GlorotNormal",
	"he_uniform":       "HeUniform",
	"he_normal":        "HeNormal",
	"lecun_uniform":    "LecunUniform",
	"lecun_normal":     "LecunNormal",
	"zeros":            "Zeros",
	"ones":             "Ones",
	"constant":         "Constant",
	"random_normal":    "RandomNormal",
	"random_uniform":   "RandomUniform",
	"truncated_normal": "TruncatedNormal",
	"orthogonal":       "Orthogonal",
	"variance_scaling": "VarianceScaling",
	"identity":         "Identity",
}

// orInit returns in, or the Keras initializer named def when in is nil
// (the default of the config key in is read from).
func orInit(in *model.Initializer, def string) *model.Initializer {
	if in == nil {
		return &model.Initializer{Name: def}
	}
	return in
}
