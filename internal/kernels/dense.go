package kernels

// PackRows is the tile height of the packed product (XFER_MR in dense.h):
// rows of a are computed in blocks of this many.
const PackRows = 12

// packCols is the panel width of the packed product (XFER_NR).
const packCols = 32

// Pack copies w ([k,n] row-major with row stride ldw, or [n,k] when
// transB) into the panels DensePacked reads: panel j holds columns
// 32j..32j+31 as k rows of 32 floats, zero-padded past n.
func Pack(w []float32, ldw, k, n int, transB bool) []float32 {
	panels := (n + packCols - 1) / packCols
	p := make([]float32, panels*k*packCols)
	for jp := range panels {
		dst := p[jp*k*packCols : (jp+1)*k*packCols]
		for c := range min(packCols, n-jp*packCols) {
			j := jp*packCols + c
			for kk := range k {
				if transB {
					dst[kk*packCols+c] = w[j*ldw+kk]
				} else {
					dst[kk*packCols+c] = w[kk*ldw+j]
				}
			}
		}
	}
	return p
}

// finishRows adds bias (nil: none) to each of the m rows of c (n columns,
// row stride ldc) and applies act (nil: none), in Go.
func finishRows(m, n int, c []float32, ldc int, bias []float32, act *Act) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if bias != nil {
			AddRows(row, bias[:n], row)
		}
		if act != nil {
			ForwardGo(*act, row, row)
		}
	}
}
