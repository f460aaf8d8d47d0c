// Package initializers draws weights the way Keras's built-in initializers do.
//
// Draw takes a model.Initializer (a snake-case Keras name and its JSON config)
// and a shape in the framework's own layout, and returns freshly drawn values.
// Randomness comes only from the *rand.Rand passed in: a "seed" in the config
// is ignored, so one seeded generator makes a whole model reproducible.
//
// # Semantics (Keras 2.x tf.keras and Keras 3 agree on all of these)
//
// Fans follow Keras's _compute_fans: a scalar has fan_in = fan_out = 1; a
// vector [n] has n and n; a matrix [in, out] (Dense kernel) has in and out;
// a convolution kernel [k..., in, out] has in*prod(k) and out*prod(k).
//
// variance_scaling(scale, mode, distribution) divides scale by max(1, fan)
// where fan is fan_in, fan_out or (fan_in+fan_out)/2 by mode, then draws
//
//   - truncated_normal (and its alias "normal"): a normal of mean 0 and
//     stddev sqrt(scale)/0.87962566103423978 truncated at two stddevs (the
//     constant is the stddev of a standard normal truncated to [-2, 2], so the
//     result has variance scale);
//   - untruncated_normal: a normal of stddev sqrt(scale);
//   - uniform: uniform in [-limit, limit] with limit sqrt(3*scale).
//
// glorot_*, he_* and lecun_* are variance_scaling with (scale, mode) = (1,
// fan_avg), (2, fan_in) and (1, fan_in); their "_normal" variants use the
// truncated normal, as Keras does.
//
// random_normal (mean 0, stddev 0.05), random_uniform (minval -0.05, maxval
// 0.05) and truncated_normal (mean 0, stddev 0.05, redrawn beyond two
// stddevs) have Keras's defaults. zeros, ones and constant (value 0) are
// constants; identity is gain times the (possibly rectangular) identity
// matrix; orthogonal is gain times the Q factor of a QR decomposition of a
// standard normal matrix, with Q's columns multiplied by the signs of R's
// diagonal, reshaped from [prod(shape[:-1]), shape[-1]].
//
// Names Keras does not define (custom Python functions) give an error
// wrapping ErrUnknown. Input arguments are never modified.
package initializers
