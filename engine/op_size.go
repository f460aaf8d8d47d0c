package engine

// sizeKernel is Size: the element count of the input, an int64 scalar.
func sizeKernel(s *step) error {
	x, err := s.need(0)
	if err != nil {
		return err
	}
	setI64(s.out[0], []int{})[0] = int64(numel(x.Shape))
	return nil
}
