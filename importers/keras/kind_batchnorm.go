package keras

import (
	"fmt"

	"github.com/xferml/xfer/layers"
	"github.com/xferml/xfer/model"
)

func batchNorm(c *lctx) (*model.Layer, []int, error) {
	in, err := c.inShape(0, 0)
	if err != nil {
		return nil, nil, err
	}
	r := len(in)
	axis, err := c.int("axis", -1)
	if err != nil {
		return nil, nil, err
	}
	if axis < 0 {
		axis += r
	}
	if axis != r-1 {
		return nil, nil, fmt.Errorf("keras: %w: layer %q (BatchNormalization): axis %d of a rank-%d input (only the last, channels-last axis is supported)", model.ErrUnsupported, c.e.name, axis, r)
	}
	s := layers.BatchNormSpec{Common: c.common(), Rank: r, Channels: in[r-1]}
	var eps, mom float64
	if eps, err = c.float("epsilon", 1e-3); err != nil {
		return nil, nil, err
	}
	if mom, err = c.float("momentum", 0.99); err != nil {
		return nil, nil, err
	}
	s.Epsilon, s.Momentum = float32(eps), float32(mom)
	if s.Center, err = c.bool("center", true); err != nil {
		return nil, nil, err
	}
	if s.Scale, err = c.bool("scale", true); err != nil {
		return nil, nil, err
	}
	for _, p := range []struct {
		key string
		dst **model.Initializer
	}{{"gamma_initializer", &s.GammaInit}, {"beta_initializer", &s.BetaInit}, {"moving_mean_initializer", &s.MeanInit}, {"moving_variance_initializer", &s.VarianceInit}} {
		if *p.dst, err = c.init(p.key); err != nil {
			return nil, nil, err
		}
	}
	ch := []int{s.Channels}
	if s.Scale {
		if s.Gamma, ch, err = c.take("gamma", ch); err != nil {
			return nil, nil, err
		}
	}
	if s.Center {
		if s.Beta, ch, err = c.take("beta", ch); err != nil {
			return nil, nil, err
		}
	}
	if s.MovingMean, ch, err = c.take("moving_mean", ch); err != nil {
		return nil, nil, err
	}
	if s.MovingVariance, _, err = c.take("moving_variance", ch); err != nil {
		return nil, nil, err
	}
	s.Channels = ch[0]
	l, err := layers.BatchNormalization(s)
	return l, sameShape(c), err
}
