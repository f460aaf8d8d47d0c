package finetune

// batchFree reports whether value name holds no batch dim: a param, a
// const, or a value computed from those only (a recurrent layer's gate
// matrices and biases, built from its Keras weights), so that its axis 0
// is an ordinary axis.
func (lw *lowerer) batchFree(name string, depth int) bool {
	if _, ok := lw.params[name]; ok {
		return true
	}
	if _, ok := lw.consts[name]; ok {
		return true
	}
	n := producer(lw.m, name)
	if n == nil || depth > 32 {
		return false
	}
	for _, in := range n.Inputs {
		if in != "" && !lw.batchFree(in, depth+1) {
			return false
		}
	}
	return true
}
