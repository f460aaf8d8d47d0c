package finetune

import (
	"fmt"
	"math"
	"strings"
)

// Monitors lists the figures early stopping, ReduceLROnPlateau and
// --save-best-only can watch (Keras's monitor argument).
var Monitors = []string{"val_loss", "loss", "val_accuracy", "accuracy"}

// monitorValue returns e's figure for monitor, and whether it has one.
func monitorValue(e Epoch, monitor string) (float64, bool) {
	switch monitor {
	case "loss":
		return e.Loss, true
	case "accuracy":
		return e.Accuracy, true
	case "val_loss":
		if e.ValLoss != nil {
			return *e.ValLoss, true
		}
	case "val_accuracy":
		if e.ValAccuracy != nil {
			return *e.ValAccuracy, true
		}
	}
	return 0, false
}

// improves reports whether current beats best by more than minDelta for
// monitor: lower for losses, higher for accuracies (Keras's mode "auto").
func improves(monitor string, current, best, minDelta float64) bool {
	if math.IsNaN(best) {
		return true
	}
	if strings.HasSuffix(monitor, "accuracy") {
		return current-minDelta > best
	}
	return current+minDelta < best
}

// earlyStopping is Keras 3's EarlyStopping callback (on_epoch_end): wait
// counts epochs since the best; an improvement resets it; training stops
// once wait reaches patience (never after the first epoch); with
// restore_best_weights the best epoch's model is what training returns.
type earlyStopping struct {
	monitor  string
	patience int
	minDelta float64
	best     float64
	bestEp   int
	wait     int
}

// update records epoch ep's figure and reports whether it is the best so
// far and whether training should stop.
func (es *earlyStopping) update(ep int, v float64) (best, stop bool) {
	es.wait++
	if improves(es.monitor, v, es.best, es.minDelta) {
		es.best, es.bestEp, es.wait = v, ep, 0
		return true, false
	}
	return false, es.wait >= es.patience && ep > 0
}

// plateau is Keras's ReduceLROnPlateau (mode "auto", min_delta 1e-4,
// cooldown 0): after patience epochs without improvement the learning
// rate is multiplied by factor, not below minLR.
type plateau struct {
	monitor  string
	patience int
	factor   float64
	minLR    float64
	best     float64
	wait     int
}

// update returns the learning rate after an epoch whose figure is v.
func (p *plateau) update(v, lr float64) float64 {
	if improves(p.monitor, v, p.best, 1e-4) {
		p.best, p.wait = v, 0
		return lr
	}
	p.wait++
	if p.wait >= p.patience && lr > p.minLR {
		p.wait = 0
		return max(lr*p.factor, p.minLR)
	}
	return lr
}

// checkCallbacks validates the callback settings of c.
func (c *Config) checkCallbacks() error {
	if c.Monitor == "" {
		c.Monitor = "val_loss"
	}
	ok := false
	for _, m := range Monitors {
		ok = ok || m == c.Monitor
	}
	if !ok {
		return fmt.Errorf("finetune: monitor %q (want one of %s)", c.Monitor, strings.Join(Monitors, ", "))
	}
	if c.EarlyStopping < 0 || c.PlateauPatience < 0 || c.MinDelta < 0 {
		return fmt.Errorf("finetune: early-stopping patience %d, plateau patience %d and min delta %v must be >= 0", c.EarlyStopping, c.PlateauPatience, c.MinDelta)
	}
	if c.PlateauPatience > 0 {
		if c.PlateauFactor == 0 {
			c.PlateauFactor = 0.1 // Keras's default
		}
		if !(c.PlateauFactor > 0 && c.PlateauFactor < 1) {
			return fmt.Errorf("finetune: plateau factor %v must be in (0, 1)", c.PlateauFactor)
		}
		if c.Schedule != nil {
			return fmt.Errorf("finetune: ReduceLROnPlateau cannot change the rate of a schedule (Keras refuses it too): give one of them")
		}
	}
	if c.RestoreBest && c.EarlyStopping == 0 {
		return fmt.Errorf("finetune: restore-best goes with early stopping")
	}
	return nil
}

// CheckConfig validates c's optimizer and callback settings, its metric
// names and its class weights' form as Train does before it starts (the
// command reports them as usage errors; the head and the labels are
// checked against them when training starts).
func CheckConfig(c Config) error {
	c.defaults()
	if err := c.check(); err != nil {
		return err
	}
	if err := CheckMetrics(c.Metrics); err != nil {
		return err
	}
	if _, err := parseClassWeight(c.ClassWeight); err != nil {
		return err
	}
	return c.checkCallbacks()
}
