package keras

import (
	"github.com/xferml/xfer/model"
)

// kindFn builds one Keras layer class and returns the layer and its output
// shape (Keras's compute_output_shape, -1 for unknown dims).
type kindFn func(c *lctx) (*model.Layer, []int, error)

// kinds is the registry of Keras layer classes (InputLayer is handled by the
// graph builder).
var kinds = map[string]kindFn{
	"Dense":                  dense,
	"Activation":             activation,
	"ReLU":                   relu,
	"LeakyReLU":              leakyReLU,
	"PReLU":                  prelu,
	"ELU":                    elu,
	"Softmax":                softmax,
	"Dropout":                dropout("Dropout", "rate"),
	"AlphaDropout":           dropout("AlphaDropout", "rate"),
	"GaussianDropout":        dropout("GaussianDropout", "rate"),
	"GaussianNoise":          dropout("GaussianNoise", "stddev"),
	"Flatten":                flatten,
	"Reshape":                reshape,
	"Permute":                permute,
	"BatchNormalization":     batchNorm,
	"Conv1D":                 conv(1),
	"Conv2D":                 conv(2),
	"DepthwiseConv2D":        depthwise,
	"SeparableConv1D":        separable(1),
	"SeparableConv2D":        separable(2),
	"MaxPooling1D":           pool(1, true),
	"MaxPooling2D":           pool(2, true),
	"AveragePooling1D":       pool(1, false),
	"AveragePooling2D":       pool(2, false),
	"GlobalAveragePooling1D": globalPool(1, false),
	"GlobalAveragePooling2D": globalPool(2, false),
	"GlobalMaxPooling1D":     globalPool(1, true),
	"GlobalMaxPooling2D":     globalPool(2, true),
	"ZeroPadding1D":          zeroPadding(1),
	"ZeroPadding2D":          zeroPadding(2),
	"Cropping1D":             cropping(1),
	"Cropping2D":             cropping(2),
	"UpSampling1D":           upSampling(1),
	"UpSampling2D":           upSampling(2),
	"Conv1DTranspose":        convTranspose(1),
	"Conv2DTranspose":        convTranspose(2),
	"SimpleRNN":              recurrent("SimpleRNN"),
	"LSTM":                   recurrent("LSTM"),
	"GRU":                    recurrent("GRU"),
	"Bidirectional":          bidirectional,
	"TimeDistributed":        timeDistributed,
	"LayerNormalization":     layerNorm,
	"LayerScale":             layerScale,
	"CustomScaleLayer":       customScale,
	"Add":                    merge("Add"),
	"Subtract":               merge("Subtract"),
	"Multiply":               merge("Multiply"),
	"Average":                merge("Average"),
	"Maximum":                merge("Maximum"),
	"Minimum":                merge("Minimum"),
	"Concatenate":            concatenate,
	"Rescaling":              rescaling,
	"Normalization":          normalization,
	"Embedding":              embedding,
	"TFOpLambda":             tfOpLambdaLayer,
	"Identity":               identity,
	"RandomFlip":             augment("RandomFlip"),
	"RandomRotation":         augment("RandomRotation"),
	"RandomZoom":             augment("RandomZoom"),
	"RandomTranslation":      augment("RandomTranslation"),
	"RandomContrast":         augment("RandomContrast"),
	"RandomBrightness":       augment("RandomBrightness"),
}

func sameShape(c *lctx) []int { return append([]int(nil), c.inShapes[0]...) }
