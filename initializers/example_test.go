package initializers_test

import (
	"fmt"
	"math"
	"math/rand"

	"github.com/xferml/xfer/initializers"
	"github.com/xferml/xfer/model"
)

// Draw a Dense kernel [in=300, out=100] the way Keras's default
// glorot_uniform does: uniform in ±sqrt(6/(fan_in+fan_out)).
func ExampleDraw() {
	rng := rand.New(rand.NewSource(42))
	kernel, err := initializers.Draw(&model.Initializer{Name: "glorot_uniform"}, []int{300, 100}, rng)
	if err != nil {
		fmt.Println(err)
		return
	}
	limit := math.Sqrt(6.0 / (300 + 100))
	inside := true
	for _, v := range kernel {
		inside = inside && math.Abs(float64(v)) <= limit
	}
	fmt.Println(len(kernel), inside)

	_, err = initializers.Draw(&model.Initializer{Name: "my_custom_init"}, []int{2, 2}, rng)
	fmt.Println(err != nil)
	// Output:
	// 30000 true
	// true
}
