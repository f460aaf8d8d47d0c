package dataset

// numpyShuffle permutes n items exactly as NumPy's legacy
// numpy.random.RandomState(seed).shuffle does on a list of n items, which
// is how Keras's image_dataset_from_directory shuffles the file list before
// its validation split (keras/src/utils/dataset_utils.py, index_directory):
// so --validation-split F --seed S picks the same files as Keras. It calls
// swap(i, j) for each exchange, from the end down (Fisher-Yates), j drawn
// with NumPy's random_interval (mask and reject) from MT19937 seeded with
// init_genrand(seed).
func numpyShuffle(seed uint32, n int, swap func(i, j int)) {
	mt := newMT19937(seed)
	for i := n - 1; i >= 1; i-- {
		swap(i, int(mt.interval(uint64(i))))
	}
}

// mt19937 is the Mersenne Twister of Matsumoto and Nishimura (1998), as
// NumPy's legacy RandomState uses it.
type mt19937 struct {
	state [624]uint32
	pos   int
}

func newMT19937(seed uint32) *mt19937 {
	m := &mt19937{pos: 624}
	m.state[0] = seed
	for i := 1; i < 624; i++ {
		p := m.state[i-1]
		m.state[i] = 1812433253*(p^(p>>30)) + uint32(i)
	}
	return m
}

func (m *mt19937) uint32() uint32 {
	if m.pos >= 624 {
		const upper, lower = 0x80000000, 0x7fffffff
		for i := 0; i < 624; i++ {
			y := m.state[i]&upper | m.state[(i+1)%624]&lower
			v := m.state[(i+397)%624] ^ y>>1
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			m.state[i] = v
		}
		m.pos = 0
	}
	y := m.state[m.pos]
	m.pos++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// interval returns a value in [0, max] as NumPy's random_interval does:
// the smallest all-ones mask covering max, drawing until a masked value is
// at most max (32-bit draws while max fits in 32 bits).
func (m *mt19937) interval(max uint64) uint64 {
	if max == 0 {
		return 0
	}
	mask := max
	for s := uint(1); s <= 32; s <<= 1 {
		mask |= mask >> s
	}
	if max <= 0xffffffff {
		for {
			if v := uint64(m.uint32()) & mask; v <= max {
				return v
			}
		}
	}
	for {
		v := (uint64(m.uint32())<<32 | uint64(m.uint32())) & mask
		if v <= max {
			return v
		}
	}
}
