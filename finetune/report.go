package finetune

// Reporter receives a training run's progress. The command line draws it
// (cmd/xfer's Keras-like progress bar); a nil Reporter reports nothing.
type Reporter interface {
	EpochStart(epoch, epochs, steps int)
	Step(step, steps int, loss, accuracy float64)
	EpochEnd(e Epoch, epochs int)
	Message(msg string)
}

type nopReporter struct{}

func (nopReporter) EpochStart(int, int, int)        {}
func (nopReporter) Step(int, int, float64, float64) {}
func (nopReporter) EpochEnd(Epoch, int)             {}
func (nopReporter) Message(string)                  {}
