package finetune

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Schedule is a learning-rate schedule, evaluated at each optimizer step
// (0-based, as Keras evaluates a LearningRateSchedule at
// optimizer.iterations before the update).
type Schedule struct {
	// Kind is "exponential" (keras.optimizers.schedules.ExponentialDecay),
	// "piecewise" (PiecewiseConstantDecay), "power" (Géron's power
	// scheduling, lr0 / (1 + step/s)^c; c = 1 is Keras's InverseTimeDecay
	// with decay_rate 1) or "1cycle" (Géron's OneCycleScheduler).
	Kind string `json:"kind"`
	// exponential: lr0 * Rate^(step/Steps), the exponent floored when
	// Staircase. power: Steps is s, Power is c.
	Steps     float64 `json:"steps,omitempty"`
	Rate      float64 `json:"rate,omitempty"`
	Staircase bool    `json:"staircase,omitempty"`
	Power     float64 `json:"power,omitempty"`
	// piecewise: Values[0] up to and including step Boundaries[0],
	// Values[i+1] after Boundaries[i], as PiecewiseConstantDecay.
	Boundaries []float64 `json:"boundaries,omitempty"`
	Values     []float64 `json:"values,omitempty"`
	// 1cycle: MaxRate; the start rate is MaxRate/10, the last 10% + 1 of
	// the iterations go down to start/1000 (the notebook's defaults).
	MaxRate float64 `json:"max_rate,omitempty"`
	// iterations is the run's total step count (1cycle), set by Train.
	iterations int
}

// ParseSchedule reads a schedule spec:
//
//	exponential:STEPS:RATE[:staircase]   lr0 * RATE^(step/STEPS)
//	piecewise:B1,B2,...:V0,V1,V2,...     V0 until step B1, V1 until B2, ...
//	power:S[:C]                          lr0 / (1 + step/S)^C (C defaults to 1)
//	1cycle:MAX_RATE                      Géron's 1cycle over the whole run
func ParseSchedule(spec string) (*Schedule, error) {
	if spec == "" {
		return nil, nil
	}
	parts := strings.Split(spec, ":")
	num := func(s string) (float64, error) {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("finetune: schedule %q: %q is not a number", spec, s)
		}
		return v, nil
	}
	s := &Schedule{Kind: parts[0]}
	bad := fmt.Errorf("finetune: schedule %q: want exponential:STEPS:RATE[:staircase], piecewise:B1,B2,..:V0,V1,.., power:S[:C] or 1cycle:MAX_RATE", spec)
	var err error
	switch s.Kind {
	case "exponential":
		if len(parts) < 3 || len(parts) > 4 || (len(parts) == 4 && parts[3] != "staircase") {
			return nil, bad
		}
		if s.Steps, err = num(parts[1]); err != nil {
			return nil, err
		}
		if s.Rate, err = num(parts[2]); err != nil {
			return nil, err
		}
		s.Staircase = len(parts) == 4
		if s.Steps <= 0 || s.Rate <= 0 {
			return nil, fmt.Errorf("finetune: schedule %q: steps and rate must be positive", spec)
		}
	case "piecewise":
		if len(parts) != 3 {
			return nil, bad
		}
		for _, b := range strings.Split(parts[1], ",") {
			v, err := num(b)
			if err != nil {
				return nil, err
			}
			if n := len(s.Boundaries); n > 0 && v <= s.Boundaries[n-1] {
				return nil, fmt.Errorf("finetune: schedule %q: boundaries must increase", spec)
			}
			s.Boundaries = append(s.Boundaries, v)
		}
		for _, b := range strings.Split(parts[2], ",") {
			v, err := num(b)
			if err != nil {
				return nil, err
			}
			if v <= 0 {
				return nil, fmt.Errorf("finetune: schedule %q: learning rates must be positive", spec)
			}
			s.Values = append(s.Values, v)
		}
		if len(s.Values) != len(s.Boundaries)+1 {
			return nil, fmt.Errorf("finetune: schedule %q: %d boundaries need %d values, got %d (as Keras's PiecewiseConstantDecay)", spec, len(s.Boundaries), len(s.Boundaries)+1, len(s.Values))
		}
	case "power":
		if len(parts) < 2 || len(parts) > 3 {
			return nil, bad
		}
		if s.Steps, err = num(parts[1]); err != nil {
			return nil, err
		}
		s.Power = 1
		if len(parts) == 3 {
			if s.Power, err = num(parts[2]); err != nil {
				return nil, err
			}
		}
		if s.Steps <= 0 || s.Power <= 0 {
			return nil, fmt.Errorf("finetune: schedule %q: s and c must be positive", spec)
		}
	case "1cycle":
		if len(parts) != 2 {
			return nil, bad
		}
		if s.MaxRate, err = num(parts[1]); err != nil {
			return nil, err
		}
		if s.MaxRate <= 0 {
			return nil, fmt.Errorf("finetune: schedule %q: the maximum rate must be positive", spec)
		}
	default:
		return nil, bad
	}
	return s, nil
}

// At returns the learning rate at optimizer step step (0-based) for the
// initial rate lr0.
func (s *Schedule) At(step int, lr0 float64) float64 {
	if s == nil {
		return lr0
	}
	x := float64(step)
	switch s.Kind {
	case "exponential":
		p := x / s.Steps
		if s.Staircase {
			p = math.Floor(p)
		}
		return lr0 * math.Pow(s.Rate, p)
	case "piecewise":
		for i, b := range s.Boundaries {
			if x <= b {
				return s.Values[i]
			}
		}
		return s.Values[len(s.Values)-1]
	case "power":
		return lr0 / math.Pow(1+x/s.Steps, s.Power)
	case "1cycle":
		return s.oneCycle(step)
	}
	return lr0
}

// oneCycle is OneCycleScheduler.on_batch_begin of Géron's chapter 11
// notebook (ageron/handson-ml2, 11_training_deep_neural_networks): up
// linearly from start to max over the first half of the iterations before
// the last ones, down to start over the second half, then down to last.
func (s *Schedule) oneCycle(it int) float64 {
	iterations := max(s.iterations, 1)
	start := s.MaxRate / 10
	lastIts := iterations/10 + 1
	half := (iterations - lastIts) / 2
	last := start / 1000
	interp := func(i1, i2 int, r1, r2 float64) float64 {
		if i2 == i1 {
			return r2
		}
		return (r2-r1)*float64(it-i1)/float64(i2-i1) + r1
	}
	switch {
	case it < half:
		return interp(0, half, start, s.MaxRate)
	case it < 2*half:
		return interp(half, 2*half, s.MaxRate, start)
	}
	return interp(2*half, iterations, start, last)
}

func (s *Schedule) String() string {
	if s == nil {
		return ""
	}
	switch s.Kind {
	case "exponential":
		st := ""
		if s.Staircase {
			st = ":staircase"
		}
		return fmt.Sprintf("exponential:%g:%g%s", s.Steps, s.Rate, st)
	case "piecewise":
		f := func(v []float64) string {
			p := make([]string, len(v))
			for i, x := range v {
				p[i] = strconv.FormatFloat(x, 'g', -1, 64)
			}
			return strings.Join(p, ",")
		}
		return "piecewise:" + f(s.Boundaries) + ":" + f(s.Values)
	case "power":
		return fmt.Sprintf("power:%g:%g", s.Steps, s.Power)
	case "1cycle":
		return fmt.Sprintf("1cycle:%g", s.MaxRate)
	}
	return s.Kind
}
