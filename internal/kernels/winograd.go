package kernels

// Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions (Lavin and Gray,
// "Fast Algorithms for Convolutional Neural Networks", 2016): each 2x2
// block of outputs ("tile") comes from a 4x4 block of input d as
// A^T [(G g G^T) . (B^T d B)] A, so a convolution with C input and M output
// channels becomes 16 matrix products U[k] [M, C] x V[k] [C, tiles], 2.25
// times fewer multiplications than the direct sum. U (WinogradWeights) is
// computed once per weight; V (WinogradInput) and the output transform
// (WinogradOutput) are additions only. The result differs from the direct
// sum by rounding (the transforms' entries are 0, +-1 and +-1/2).

// WinogradTiles returns the tile rows and columns of an OH x OW output.
func WinogradTiles(oh, ow int) (th, tw int) { return (oh + 1) / 2, (ow + 1) / 2 }

// WinogradWeights returns U [16][M][C] (U[k][m][c] at (k*M+m)*C+c) for w
// [M, C, 3, 3]: U = G g G^T per (m, c), G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2
// 1/2; 0 0 1].
func WinogradWeights(w []float32, m, c int) []float32 {
	u := make([]float32, 16*m*c)
	for o := range m {
		for i := range c {
			g := w[(o*c+i)*9 : (o*c+i+1)*9]
			// t = G g: 4x3.
			var t [4][3]float32
			for j := range 3 {
				g0, g1, g2 := g[j], g[3+j], g[6+j]
				t[0][j] = g0
				t[1][j] = (g0 + g1 + g2) / 2
				t[2][j] = (g0 - g1 + g2) / 2
				t[3][j] = g2
			}
			// U = t G^T: 4x4.
			for r := range 4 {
				a0, a1, a2 := t[r][0], t[r][1], t[r][2]
				v := [4]float32{a0, (a0 + a1 + a2) / 2, (a0 - a1 + a2) / 2, a2}
				for q := range 4 {
					u[((r*4+q)*m+o)*c+i] = v[q]
				}
			}
		}
	}
	return u
}

// WinogradInputGo writes V[k][ch][t0 + tile] (at (k*c+ch)*ld + t0 + tile,
// tile = row*TW + col) = (B^T d B)[k] for channels [c0, c1) of x [C, H, W],
// d the 4x4 input block at rows 2*row - pt, columns 2*col - pl (0 outside
// the input), B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
func WinogradInputGo(x []float32, h, w, pt, pl, th, tw int, v []float32, c, c0, c1, ld, t0 int) {
	at := func(ch, r, q int) float32 {
		if r < 0 || r >= h || q < 0 || q >= w {
			return 0
		}
		return x[(ch*h+r)*w+q]
	}
	for ch := c0; ch < c1; ch++ {
		for tr := range th {
			for tc := range tw {
				var d [4][4]float32
				for r := range 4 {
					for q := range 4 {
						d[r][q] = at(ch, 2*tr-pt+r, 2*tc-pl+q)
					}
				}
				var s [4][4]float32 // B^T d
				for q := range 4 {
					s[0][q] = d[0][q] - d[2][q]
					s[1][q] = d[1][q] + d[2][q]
					s[2][q] = d[2][q] - d[1][q]
					s[3][q] = d[1][q] - d[3][q]
				}
				tile := t0 + tr*tw + tc
				for r := range 4 { // (B^T d) B
					e := [4]float32{s[r][0] - s[r][2], s[r][1] + s[r][2], s[r][2] - s[r][1], s[r][1] - s[r][3]}
					for q := range 4 {
						v[((r*4+q)*c+ch)*ld+tile] = e[q]
					}
				}
			}
		}
	}
}

// WinogradOutputGo writes output channels [m0, m1) of y [M, OH, OW] from
// the products P[k][m][t0 + tile] (at (k*M+m)*ld + t0 + tile): each tile's
// 2x2 block is A^T P A, A^T = [1 1 1 0; 0 1 -1 -1], plus bias[m] (nil:
// none); the block's part beyond OH x OW is dropped.
func WinogradOutputGo(p []float32, mm, m0, m1, ld, t0 int, bias, y []float32, oh, ow int) {
	th, tw := WinogradTiles(oh, ow)
	for o := m0; o < m1; o++ {
		var b float32
		if bias != nil {
			b = bias[o]
		}
		for tr := range th {
			for tc := range tw {
				var q [4][4]float32
				for k := range 16 {
					q[k/4][k%4] = p[(k*mm+o)*ld+t0+tr*tw+tc]
				}
				var s [2][4]float32 // A^T q
				for j := range 4 {
					s[0][j] = q[0][j] + q[1][j] + q[2][j]
					s[1][j] = q[1][j] - q[2][j] - q[3][j]
				}
				for r := range 2 {
					yr := 2*tr + r
					if yr >= oh {
						continue
					}
					out := [2]float32{s[r][0] + s[r][1] + s[r][2], s[r][1] - s[r][2] - s[r][3]}
					for j := range 2 {
						if yc := 2*tc + j; yc < ow {
							y[(o*oh+yr)*ow+yc] = out[j] + b
						}
					}
				}
			}
		}
	}
}

// WinogradInput is WinogradInputGo in vectorised C when there is a C
// kernel (the same bits).
func WinogradInput(x []float32, h, w, pt, pl, th, tw int, v []float32, c, c0, c1, ld, t0 int) {
	if c1 <= c0 || th <= 0 || tw <= 0 {
		return
	}
	if winogradInputC(x, h, w, pt, pl, th, tw, v, c, c0, c1, ld, t0) {
		return
	}
	WinogradInputGo(x, h, w, pt, pl, th, tw, v, c, c0, c1, ld, t0)
}

// WinogradOutput is WinogradOutputGo in vectorised C when there is a C
// kernel (the same bits).
func WinogradOutput(p []float32, mm, m0, m1, ld, t0 int, bias, y []float32, oh, ow int) {
	if m1 <= m0 || oh <= 0 || ow <= 0 {
		return
	}
	if winogradOutputC(p, mm, m0, m1, ld, t0, bias, y, oh, ow) {
		return
	}
	WinogradOutputGo(p, mm, m0, m1, ld, t0, bias, y, oh, ow)
}
