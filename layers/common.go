package layers

import (
	"encoding/json"
	"fmt"

	"github.com/xferml/xfer/internal/pyjson"
	"github.com/xferml/xfer/model"
)

// Common holds what every layer builder except Dense takes.
type Common struct {
	Name      string
	Inputs    []string // value names of the layer's inputs, channels-last
	Trainable bool
	// Config is the Keras config object to keep on the layer (may be nil).
	Config json.RawMessage
}

func (c Common) builder(kind string, nIn int) (*builder, error) {
	if c.Name == "" {
		return nil, fmt.Errorf("layers: %s layer has no name", kind)
	}
	if nIn > 0 && len(c.Inputs) != nIn {
		return nil, fmt.Errorf("layers: layer %q: %s takes %d input(s), got %d", c.Name, kind, nIn, len(c.Inputs))
	}
	if nIn < 0 && len(c.Inputs) < -nIn {
		return nil, fmt.Errorf("layers: layer %q: %s takes at least %d inputs, got %d", c.Name, kind, -nIn, len(c.Inputs))
	}
	return newBuilder(c.Name, kind, append([]string(nil), c.Inputs...), c.Trainable), nil
}

// done finishes the layer with output y and the kept config, or, when
// there is none and the kind writes its own (gen), the config gen writes.
func (c Common) done(b *builder, y string, gen ...func() *pyjson.Obj) *model.Layer {
	l := keep(b.finish(b.identityOut(y)), c.Config)
	if l.Config == nil && len(gen) > 0 {
		l.Config = encodeConfig(gen[0]())
	}
	return l
}
