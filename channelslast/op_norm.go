package channelslast

import (
	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

// opBatchNorm converts an inference BatchNormalization into a Keras
// BatchNormalization over the channels axis, last in the converted layout
// (axis [rank-1]); gamma, beta and the moving statistics keep their values
// and ONNX's epsilon and momentum (the same meaning in Keras).
func opBatchNorm(c *converter, n *model.Node) error {
	if len(n.Inputs) != 5 {
		return c.fail(n, "BatchNormalization needs 5 inputs, has %d", len(n.Inputs))
	}
	x := n.Inputs[0]
	r := c.rank(x)
	if r < 2 {
		return c.fail(n, "input of rank %d", r)
	}
	ch := c.shape(x)[1]
	var w [4][]float32
	for i := range w {
		t := c.constant(n.Inputs[i+1])
		if t == nil || len(t.F32) != ch {
			return c.fail(n, "input %q must be a constant of %d values (Keras keeps it as a weight)", n.Inputs[i+1], ch)
		}
		w[i] = t.F32
	}
	cl := channelsLast(r)
	xin, err := c.need(n, x, cl)
	if err != nil {
		return err
	}
	tr := c.trainable(n)
	name := c.layerName(n, "")
	eps, mom := n.AttrFloat("epsilon", 1e-5), n.AttrFloat("momentum", 0.9)
	out, err := c.add(layers.BatchNormalization(layers.BatchNormSpec{
		Common: common(name, xin, tr),
		Rank:   r, Channels: ch, Epsilon: eps, Momentum: mom, Center: true, Scale: true,
		Gamma: w[0], Beta: w[1], MovingMean: w[2], MovingVariance: w[3],
	}))
	if err != nil {
		return err
	}
	c.set(n.Outputs[0], out, cl)
	return nil
}
