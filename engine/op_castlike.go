package engine

import "github.com/xferml/xfer/model"

// castLikeKernel is CastLike: Cast to the dtype of input 1.
func castLikeKernel(s *step) error {
	x, like, err := s.need2()
	if err != nil {
		return err
	}
	if x.DType == like.DType {
		alias(s.out[0], x, x.Shape)
		return nil
	}
	setDType(s.out[0], like.DType, x.Shape)
	model.ConvertInto(s.out[0], x)
	return nil
}
