package layers

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/xferml/xfer/internal/pyjson"
	"github.com/xferml/xfer/model"
)

// CroppingSpec is a Keras Cropping1D or Cropping2D layer.
type CroppingSpec struct {
	Common
	// Cropping holds (before, after) per spatial dim: [[l, r]] for 1D,
	// [[top, bottom], [left, right]] for 2D.
	Cropping [][2]int
	// ChannelsFirst is Cropping2D's data_format "channels_first": the
	// cropped axes are 2 and 3 (of a channels-last [N, H, W, C] tensor, W
	// and C: how a channel split is written in Keras layers).
	ChannelsFirst bool
}

// Cropping returns one ONNX Slice over the spatial axes 1..n (2..n+1 for
// ChannelsFirst): starts are the before-crops, ends minus the after-crops
// (counted from the end, so the layer works on any input size; no
// after-crop slices to the end). Without a Config it writes tf.keras 2.13's
// (cropping, and data_format for 2D).
func Cropping(s CroppingSpec) (*model.Layer, error) {
	n := len(s.Cropping)
	b, err := s.builder(fmt.Sprintf("Cropping%dD", n), 1)
	if err != nil {
		return nil, err
	}
	if n < 1 || n > 3 {
		return nil, fmt.Errorf("layers: layer %q: cropping over %d dims is not supported", s.Name, n)
	}
	var starts, ends, axes []int64
	for i, c := range s.Cropping {
		if c[0] < 0 || c[1] < 0 {
			return nil, fmt.Errorf("layers: layer %q: negative cropping %v", s.Name, s.Cropping)
		}
		end := int64(-c[1])
		if c[1] == 0 {
			end = math.MaxInt64
		}
		axis := int64(i + 1)
		if s.ChannelsFirst {
			axis++
		}
		starts, ends, axes = append(starts, int64(c[0])), append(ends, end), append(axes, axis)
	}
	if s.ChannelsFirst && n != 2 {
		return nil, fmt.Errorf("layers: layer %q: channels_first cropping is for Cropping2D, not %d dims", s.Name, n)
	}
	if s.Config == nil {
		var err error
		if s.Config, err = croppingConfig(s); err != nil {
			return nil, err
		}
	}
	y := b.node("Slice", []string{s.Inputs[0], b.constInts("starts", starts...), b.constInts("ends", ends...), b.constInts("axes", axes...)}, nil)
	return s.done(b, y), nil
}

// croppingConfig is the Keras config of s (tf.keras 2.13's keys, which
// Keras 3 takes too).
func croppingConfig(s CroppingSpec) (json.RawMessage, error) {
	crop := make([]any, len(s.Cropping))
	for i, c := range s.Cropping {
		crop[i] = []any{c[0], c[1]}
	}
	cfg := pyjson.NewObj().Set("name", s.Name).Set("trainable", s.Trainable).Set("dtype", "float32")
	if len(crop) == 1 {
		cfg.Set("cropping", crop[0])
	} else {
		df := "channels_last"
		if s.ChannelsFirst {
			df = "channels_first"
		}
		cfg.Set("cropping", crop).Set("data_format", df)
	}
	b, err := pyjson.Encode(cfg)
	if err != nil {
		return nil, fmt.Errorf("layers: layer %q: config: %w", s.Name, err)
	}
	return b, nil
}

// readCropping reads Cropping1D (nd 1, default (1, 1)) or Cropping2D (nd 2,
// default 0).
func readCropping(nd int) kerasReader {
	return func(c *kctx) (*model.Layer, []int, error) {
		in, err := c.inShape(0, nd+2)
		if err != nil {
			return nil, nil, err
		}
		def := 0
		if nd == 1 {
			def = 1 // Keras's Cropping1D default cropping=(1, 1)
		}
		crops, err := c.pairs("cropping", nd, def)
		if err != nil {
			return nil, nil, err
		}
		// Cropping2D's data_format channels_first crops axes 2 and 3.
		first := 1
		df, err := c.str("data_format", "channels_last")
		if err != nil {
			return nil, nil, err
		}
		switch {
		case df == "channels_first" && nd == 2:
			first = 2
		case df != "channels_last" && df != "channels_first" || df == "channels_first" && nd != 2:
			return nil, nil, c.errf("data_format", "%q is not supported here (channels_last; channels_first for Cropping2D)", df)
		}
		out := append([]int(nil), in...)
		for i, p := range crops {
			if out[first+i] >= 0 {
				if out[first+i] -= p[0] + p[1]; out[first+i] <= 0 {
					return nil, nil, c.errf("cropping", "%v crops all of dim %d of input %v", crops, first+i, in)
				}
			}
		}
		l, err := Cropping(CroppingSpec{Common: c.common(), Cropping: crops, ChannelsFirst: first == 2})
		return l, out, err
	}
}
