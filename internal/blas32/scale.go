package blas32

// scale sets C = beta*C on an m x n row-major block with leading dimension
// ldc; beta 0 clears C (NaNs included), as BLAS does.
func scale(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
