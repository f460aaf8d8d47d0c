package finetune

import (
	"fmt"
	"math"

	"github.com/xferml/xfer/model"
)

// foldPrefixBN returns the frozen prefix p (prefixModel's one-layer model)
// with every BatchNormalization node that alone reads a Conv's output
// folded into that Conv's weight and bias, so that the engine runs one
// Conv, with the activation after it in the same pass, instead of a Conv,
// a normalisation pass and an activation pass (a third of a torchvision
// CNN's time at 224x224). It is exact but for rounding: the prefix is
// frozen, and a frozen BatchNormalization runs in inference mode, with
// s = scale / sqrt(var + epsilon) per output channel c,
//
//	W'[c, ...] = W[c, ...] * s[c]
//	B'[c]      = (B[c] - mean[c]) * s[c] + bias[c]
//
// computed in float64 and rounded once. The folded weights are new params
// (named after the Conv); p's nodes and params, which the model being
// trained shares, are never modified. A BatchNormalization is left as it
// is when its Conv's weight is not a param or const of shape [M, ...] (a
// Keras kernel reaches its Conv through a Transpose), its statistics are
// not, it has training outputs or training_mode set, or the Conv's output
// is read elsewhere or is a boundary value.
func foldPrefixBN(p *model.Model) (*model.Model, int) {
	if len(p.Layers) != 1 {
		return p, 0
	}
	l := p.Layers[0]
	reads := map[string]int{}
	for _, n := range l.Nodes {
		for _, v := range n.Inputs {
			reads[v]++
		}
	}
	for _, v := range p.Outputs {
		reads[v]++
	}
	byOutput := map[string]int{} // value -> index of the node producing it
	taken := map[string]bool{}   // every value name, for the new params'
	for _, v := range p.Inputs {
		taken[v.Name] = true
	}
	for i, n := range l.Nodes {
		for _, o := range n.Outputs {
			byOutput[o], taken[o] = i, true
		}
	}
	tensors := map[string][]float32{}
	for _, q := range l.Params {
		tensors[q.Name], taken[q.Name] = q.Data, true
	}
	for _, c := range l.Consts {
		if c.DType == model.Float32 {
			tensors[c.Name] = c.F32
		}
		taken[c.Name] = true
	}
	shapes := map[string][]int{}
	for _, q := range l.Params {
		shapes[q.Name] = q.Shape
	}
	for _, c := range l.Consts {
		shapes[c.Name] = c.Shape
	}
	nodes := make([]*model.Node, len(l.Nodes))
	copy(nodes, l.Nodes)
	var added []*model.Param
	folded := 0
	for i, bn := range l.Nodes {
		if bn.Op != "BatchNormalization" || len(bn.Inputs) != 5 || bn.AttrInt("training_mode", 0) != 0 || !oneOutput(bn) {
			continue
		}
		ci, ok := byOutput[bn.Inputs[0]]
		if !ok || reads[bn.Inputs[0]] != 1 {
			continue
		}
		conv := nodes[ci]
		if conv.Op != "Conv" || len(conv.Inputs) < 2 || !oneOutput(conv) {
			continue
		}
		w, wShape := tensors[conv.Inputs[1]], shapes[conv.Inputs[1]]
		if w == nil || len(wShape) < 1 || wShape[0] < 1 {
			continue
		}
		m := wShape[0]
		var b []float32
		if len(conv.Inputs) > 2 && conv.Inputs[2] != "" {
			if b = tensors[conv.Inputs[2]]; len(b) != m {
				continue
			}
		}
		stats := make([][]float32, 4)
		for k := range stats {
			if stats[k] = tensors[bn.Inputs[1+k]]; len(stats[k]) != m {
				stats = nil
				break
			}
		}
		if stats == nil {
			continue
		}
		eps := float64(bn.AttrFloat("epsilon", 1e-5))
		per := len(w) / m
		nw, nb := make([]float32, len(w)), make([]float32, m)
		for c := range m {
			s := float64(stats[0][c]) / math.Sqrt(float64(stats[3][c])+eps)
			for j := c * per; j < (c+1)*per; j++ {
				nw[j] = float32(float64(w[j]) * s)
			}
			bias := 0.0
			if b != nil {
				bias = float64(b[c])
			}
			nb[c] = float32((bias-float64(stats[2][c]))*s + float64(stats[1][c]))
		}
		wName, bName := freshName(taken, conv.Name+"/folded_W"), freshName(taken, conv.Name+"/folded_B")
		added = append(added,
			&model.Param{Name: wName, Role: "kernel", Shape: append([]int(nil), wShape...), Data: nw},
			&model.Param{Name: bName, Role: "bias", Shape: []int{m}, Data: nb})
		nc := *conv
		nc.Inputs = []string{conv.Inputs[0], wName, bName}
		nc.Outputs = []string{bn.Outputs[0]}
		nodes[ci], nodes[i] = &nc, nil
		folded++
	}
	if folded == 0 {
		return p, 0
	}
	nl := *l
	nl.Nodes = nil
	for _, n := range nodes {
		if n != nil {
			nl.Nodes = append(nl.Nodes, n)
		}
	}
	// Keep only the params and consts the nodes still read.
	used := map[string]bool{}
	for _, n := range nl.Nodes {
		for _, v := range n.Inputs {
			used[v] = true
		}
	}
	nl.Params, nl.Consts = nil, nil
	for _, q := range append(append([]*model.Param(nil), l.Params...), added...) {
		if used[q.Name] {
			nl.Params = append(nl.Params, q)
		}
	}
	for _, c := range l.Consts {
		if used[c.Name] {
			nl.Consts = append(nl.Consts, c)
		}
	}
	np := *p
	np.Layers = []*model.Layer{&nl}
	return &np, folded
}

// oneOutput reports whether n has exactly one non-empty output.
func oneOutput(n *model.Node) bool {
	k := 0
	for _, o := range n.Outputs {
		if o != "" {
			k++
		}
	}
	return k == 1 && n.Outputs[0] != ""
}

// freshName returns name, or name with a number after it, not in taken,
// and marks it taken.
func freshName(taken map[string]bool, name string) string {
	out := name
	for i := 2; taken[out]; i++ {
		out = fmt.Sprintf("%s_%d", name, i)
	}
	taken[out] = true
	return out
}
