package model

import (
	"fmt"
	"slices"
)

// Shape rules of LayerNormalization, InstanceNormalization and
// GroupNormalization.

func layerNormShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	sc, err := c.need(1, "Scale")
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	axis, err := NormAxis(c.node.AttrInt("axis", -1), r)
	if err != nil {
		return nil, err
	}
	if _, err := broadcastDims(sc.Shape, x.Shape[axis:]); err != nil || len(sc.Shape) > r-axis {
		return nil, fmt.Errorf("Scale %v does not broadcast to the normalised dims %v", sc.Shape, x.Shape[axis:])
	}
	stat := slices.Clone(x.Shape)
	for i := axis; i < r; i++ {
		stat[i] = 1
	}
	return []*Value{x.Clone(), {DType: Float32, Shape: stat}, {DType: Float32, Shape: slices.Clone(stat)}}, nil
}

// channelNormShape is InstanceNormalization and GroupNormalization: X [N,
// C, ...] and per-channel (or per-group) scale and bias.
func channelNormShape(c *inferCtx) ([]*Value, error) {
	x, err := c.need(0, "X")
	if err != nil {
		return nil, err
	}
	if len(x.Shape) < 2 {
		return nil, fmt.Errorf("X %v must have rank >= 2 (channels-first: [N, C, D...])", x.Shape)
	}
	want := x.Shape[1]
	if c.node.Op == "GroupNormalization" {
		g := int(c.node.AttrInt("num_groups", 0))
		if g < 1 || want >= 0 && want%g != 0 {
			return nil, fmt.Errorf("num_groups %d does not divide %d channels", g, want)
		}
		if c.opsetOf() < 21 {
			want = g
		}
	}
	for i := 1; i <= 2; i++ {
		v, err := c.need(i, []string{"", "scale", "bias"}[i])
		if err != nil {
			return nil, err
		}
		if len(v.Shape) != 1 || !dimsAgree(v.Shape[0], want) {
			return nil, fmt.Errorf("%s %v must be [%d]", []string{"", "scale", "bias"}[i], v.Shape, want)
		}
	}
	return []*Value{x.Clone()}, nil
}
