#!/usr/bin/python3
"""Generates the small Keras-layout fixtures of importers/keras's tests.

Run from this directory with Debian's python3 (h5py, numpy, torch):

    /usr/bin/python3 gen.py

No Keras is involved (none is installable here): the files mimic the HDF5
layouts that Keras 2.3 (fixed-length string arrays), 2.13 (variable-length)
and Keras 3's legacy .h5 writer produce, as documented in
../../../../shared/interop/*/README.md, and the reference predictions are
computed independently with torch (float64) from Keras's documented
semantics (TensorFlow 'same' padding, depthwise channel order
k*multiplier+q, Keras 2 vs 3 hard_sigmoid, ...). Output: NAME.h5 (or
NAME.weights.h5 + NAME.json), NAME_input.npy, NAME_pred.npy. Deterministic.
"""
import json
import math

import h5py
import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def tf_same(n, k, s, d=1):
    eff = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + eff - n, 0)
    return total // 2, total - total // 2


class Model:
    """Collects layers (Keras config entries), weights and a torch forward."""

    def __init__(self, name, keras3, functional, rng):
        self.name, self.keras3, self.functional, self.rng = name, keras3, functional, rng
        self.layers, self.weights, self.order = [], {}, []
        self.compiled = False

    def w(self, *shape, scale=0.5):
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    def add(self, cls, name, cfg, inbound=None, weights=()):
        cfg = dict(cfg)
        cfg.setdefault("name", name)
        cfg.setdefault("trainable", True)
        cfg.setdefault("dtype", "float32")
        entry = {"class_name": cls, "config": cfg}
        if self.functional:
            entry["name"] = name
            if inbound is None:
                entry["inbound_nodes"] = []
            elif self.keras3:
                ts = [{"class_name": "__keras_tensor__", "config": {"shape": None, "dtype": "float32", "keras_history": [i, 0, 0]}} for i in inbound]
                entry["inbound_nodes"] = [{"args": [ts] if len(ts) > 1 else ts, "kwargs": {}}]
            else:
                entry["inbound_nodes"] = [[[i, 0, 0, {}] for i in inbound]]
        self.layers.append(entry)
        self.order.append(name)
        self.weights[name] = list(weights)

    def config(self, inputs=None, outputs=None):
        c = {"name": self.name, "layers": self.layers}
        if self.functional:
            ref = lambda n: [n, 0, 0]
            if self.keras3 and len(inputs) == 1:
                c["input_layers"], c["output_layers"] = ref(inputs[0]), ref(outputs[0])
            else:
                c["input_layers"] = [ref(n) for n in inputs]
                c["output_layers"] = [ref(n) for n in outputs]
        return {"class_name": "Functional" if self.functional else "Sequential", "config": c}

    def write(self, path, version, fixed_strings, cfg, weights_only=False):
        with h5py.File(path, "w") as f:
            def strs(obj, key, values):
                if not values:
                    obj.attrs[key] = np.zeros((0,), dtype=np.float64)  # Keras's empty weight_names
                elif fixed_strings:
                    obj.attrs[key] = np.array([v.encode() for v in values])  # fixed-length, null-padded
                else:
                    obj.attrs.create(key, values, dtype=h5py.string_dtype())
            if weights_only:
                g = f
            else:
                f.attrs["keras_version"] = version
                f.attrs["backend"] = "tensorflow"
                f.attrs["model_config"] = json.dumps(cfg)
                g = f.create_group("model_weights")
            names = [n for n in self.order if not (n.startswith("in") and not self.weights[n] and self.is_input(n) and not self.functional)]
            strs(g, "layer_names", names)
            g.attrs["keras_version"] = version
            g.attrs["backend"] = "tensorflow"
            for n in names:
                lg = g.create_group(n)
                wn = []
                for role, arr in self.weights[n]:
                    full = f"{self.name}/{n}/{role}" if self.keras3 else f"{n}/{role}:0"
                    lg.create_dataset(full, data=arr)
                    wn.append(full)
                strs(lg, "weight_names", wn)
            if not fixed_strings and not weights_only:
                tg = g.create_group("top_level_model_weights")
                strs(tg, "weight_names", [])
            if self.compiled and not weights_only:
                # A compiled model's save (include_optimizer=True): the importer ignores both.
                f.attrs["training_config"] = json.dumps({"loss": "mse", "optimizer_config": {"class_name": "Adam", "config": {"learning_rate": 0.001}}})
                og = f.create_group("optimizer_weights")
                names = []
                for n in self.order:
                    for role, arr in self.weights[n]:
                        full = f"Adam/{n}/{role}/m:0"
                        og.create_dataset(full, data=np.zeros_like(arr))
                        names.append(full)
                strs(og, "weight_names", names)

    def is_input(self, n):
        return any(l["class_name"] == "InputLayer" and l["config"]["name"] == n for l in self.layers)


def t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def conv_nd(x, k, b, strides, dil, padding, groups=1):
    """Keras channels-last convolution; k is [k..., in/groups, out]."""
    nd = k.ndim - 2
    xs = x.permute(0, nd + 1, *range(1, nd + 1))
    w = t(k).permute(nd + 1, nd, *range(nd))
    pads = []
    for i in reversed(range(nd)):
        n = xs.shape[2 + i]
        if padding == "same":
            pads += list(tf_same(n, k.shape[i], strides[i], dil[i]))
        elif padding == "causal":
            pads += [(k.shape[i] - 1) * dil[i], 0]
        else:
            pads += [0, 0]
    xs = F.pad(xs, pads)
    fn = F.conv1d if nd == 1 else F.conv2d
    y = fn(xs, w, None if b is None else t(b), stride=strides, dilation=dil, groups=groups)
    return y.permute(0, *range(2, nd + 2), 1)


def pool_nd(x, k, s, padding, is_max):
    nd = len(k)
    xs = x.permute(0, nd + 1, *range(1, nd + 1))
    pads = []
    for i in reversed(range(nd)):
        pads += list(tf_same(xs.shape[2 + i], k[i], s[i])) if padding == "same" else [0, 0]
    if is_max:
        y = (F.max_pool1d if nd == 1 else F.max_pool2d)(F.pad(xs, pads, value=-math.inf), k, s)
    else:
        avg = F.avg_pool1d if nd == 1 else F.avg_pool2d
        tot = avg(F.pad(xs, pads), k, s)
        cnt = avg(F.pad(torch.ones_like(xs), pads), k, s)
        y = tot / cnt  # Keras 'same' average pooling ignores the padding
    return y.permute(0, *range(2, nd + 2), 1)


def keras_relu(x, max_value=None, slope=0.0, th=0.0):
    neg = F.relu(th - x) if slope else None
    y = x * (x > th) if th else F.relu(x)
    if max_value is not None:
        y = torch.clamp(y, 0, max_value)
    if slope:
        y = y - slope * neg
    return y


def save(name, x, y):
    np.save(f"{name}_input.npy", x.astype(np.float32))
    np.save(f"{name}_pred.npy", y.numpy().astype(np.float32))


def kinds2d():
    """Functional, Keras 2.13 layout: conv/pool/BN/padding kinds in 2-D."""
    rng = np.random.default_rng(201)
    m = Model("kinds2d", False, True, rng)
    x = rng.standard_normal((3, 9, 7, 3)).astype(np.float32)
    m.add("InputLayer", "input_1", {"batch_input_shape": [None, 9, 7, 3], "sparse": False, "ragged": False})
    m.add("ZeroPadding2D", "zp", {"padding": [[1, 0], [2, 1]], "data_format": "channels_last"}, ["input_1"])
    k1, b1 = m.w(3, 3, 3, 4), m.w(4)
    m.add("Conv2D", "conv_a", {"filters": 4, "kernel_size": [3, 3], "strides": [2, 1], "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "relu", "use_bias": True, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}}, "bias_initializer": "random_bias"}, ["zp"], [("kernel", k1), ("bias", b1)])
    kd, bd = m.w(3, 2, 4, 2), m.w(8)
    m.add("DepthwiseConv2D", "dw", {"kernel_size": [3, 2], "strides": [1, 1], "padding": "same", "depth_multiplier": 2, "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "linear", "use_bias": True, "depthwise_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}}}, ["conv_a"], [("depthwise_kernel", kd), ("bias", bd)])
    g, be, mu, var = m.w(8) + 1, m.w(8), m.w(8), np.abs(m.w(8)) + 0.5
    m.add("BatchNormalization", "bn", {"axis": [3], "momentum": 0.9, "epsilon": 0.01, "center": True, "scale": True}, ["dw"], [("gamma", g), ("beta", be), ("moving_mean", mu), ("moving_variance", var)])
    m.add("ReLU", "relu_gen", {"max_value": 1.5, "negative_slope": 0.1, "threshold": 0.2}, ["bn"])
    kg, bg = m.w(2, 2, 4, 6), m.w(6)
    m.add("Conv2D", "conv_g", {"filters": 6, "kernel_size": [2, 2], "strides": [1, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [2, 1], "groups": 2, "activation": "tanh", "use_bias": True}, ["relu_gen"], [("kernel", kg), ("bias", bg)])
    m.add("MaxPooling2D", "maxp", {"pool_size": [2, 2], "padding": "same", "strides": [2, 2], "data_format": "channels_last"}, ["conv_g"])
    m.add("AveragePooling2D", "avgp", {"pool_size": [2, 3], "padding": "same", "strides": [1, 1], "data_format": "channels_last"}, ["conv_g"])
    m.add("GlobalAveragePooling2D", "gap", {"data_format": "channels_last", "keepdims": False}, ["maxp"])
    m.add("GlobalMaxPooling2D", "gmp", {"data_format": "channels_last"}, ["avgp"])
    m.add("Concatenate", "cat", {"axis": -1}, ["gap", "gmp"])
    kk, bb = m.w(12, 5), m.w(5)
    m.add("Dense", "out", {"units": 5, "activation": "softmax", "use_bias": True, "kernel_initializer": "random_kernel"}, ["cat"], [("kernel", kk), ("bias", bb)])
    m.write("kinds2d.h5", "2.13.1", False, m.config(["input_1"], ["out"]))

    h = t(x)
    h = F.pad(h.permute(0, 3, 1, 2), (2, 1, 1, 0)).permute(0, 2, 3, 1)
    h = F.relu(conv_nd(h, k1, b1, [2, 1], [1, 1], "same"))
    # Depthwise: TensorFlow's output channel c*multiplier + q reads input channel c.
    wd = np.transpose(kd, (2, 3, 0, 1)).reshape(8, 1, 3, 2)
    hs = h.permute(0, 3, 1, 2)
    ph, pw = tf_same(hs.shape[2], 3, 1), tf_same(hs.shape[3], 2, 1)
    h = F.conv2d(F.pad(hs, (*pw, *ph)), t(wd), t(bd), groups=4).permute(0, 2, 3, 1)
    h = (h - t(mu)) / torch.sqrt(t(var) + 0.01) * t(g) + t(be)
    h = keras_relu(h, 1.5, 0.1, 0.2)
    h = torch.tanh(conv_nd(h, kg, bg, [1, 1], [2, 1], "valid", groups=2))
    a = pool_nd(h, [2, 2], [2, 2], "same", True).mean(dim=(1, 2))
    b = pool_nd(h, [2, 3], [1, 1], "same", False).amax(dim=(1, 2))
    y = torch.softmax(torch.cat([a, b], -1) @ t(kk) + t(bb), -1)
    save("kinds2d", x, y)


def kinds1d():
    """Sequential, Keras 2.3 layout (fixed-length strings, no InputLayer):
    1-D kinds, activation layers, noise layers. Also written weights-only
    with a JSON config."""
    rng = np.random.default_rng(202)
    m = Model("kinds1d", False, False, rng)
    x = rng.standard_normal((4, 10, 3)).astype(np.float32)
    k1, b1 = m.w(3, 3, 4), m.w(4)
    m.add("Conv1D", "c1", {"batch_input_shape": [None, 10, 3], "filters": 4, "kernel_size": [3], "strides": [1], "padding": "causal", "dilation_rate": [2], "activation": "linear", "use_bias": True}, None, [("kernel", k1), ("bias", b1)])
    al = m.w(1, 4)
    m.add("PReLU", "prelu", {"alpha_initializer": {"class_name": "Zeros", "config": {}}, "shared_axes": [1]}, None, [("alpha", al)])
    m.add("AveragePooling1D", "ap", {"pool_size": [3], "strides": [2], "padding": "same", "data_format": "channels_last"})
    m.add("ZeroPadding1D", "zp", {"padding": [2, 1]})
    m.add("MaxPooling1D", "mp", {"pool_size": [2], "strides": [1], "padding": "valid", "data_format": "channels_last"})
    m.add("LeakyReLU", "lrelu", {"alpha": 0.1})
    m.add("ELU", "elu", {"alpha": 0.5})
    m.add("Dropout", "drop", {"rate": 0.4, "noise_shape": None, "seed": None})
    m.add("AlphaDropout", "adrop", {"rate": 0.1})
    m.add("GaussianNoise", "noise", {"stddev": 0.3})
    m.add("Softmax", "sm", {"axis": 1})
    m.add("Permute", "perm", {"dims": [2, 1]})
    m.add("Reshape", "resh", {"target_shape": [-1, 2]})
    m.add("Flatten", "flat", {"data_format": "channels_last"})
    # [4 ch, 7 steps] -> reshape [-1, 2] = [14, 2] -> flatten 28
    kk, bb = m.w(28, 6), m.w(6)
    m.add("Dense", "d1", {"units": 6, "activation": "selu", "use_bias": True}, None, [("kernel", kk), ("bias", bb)])
    m.add("GaussianDropout", "gdrop", {"rate": 0.2})
    m.add("Activation", "act", {"activation": "softsign"})
    m.add("Reshape", "resh2", {"target_shape": [3, 2]})
    m.add("GlobalMaxPooling1D", "gmp", {"data_format": "channels_last", "keepdims": True})
    m.add("GlobalAveragePooling1D", "gap", {"data_format": "channels_last"})
    cfg = m.config()
    m.compiled = True
    m.write("kinds1d.h5", "2.3.1", True, cfg)
    m.write("kinds1d.weights.h5", "2.3.1", True, cfg, weights_only=True)
    with open("kinds1d.json", "w") as f:
        json.dump(dict(cfg, keras_version="2.3.1", backend="tensorflow"), f)

    h = conv_nd(t(x), k1, b1, [1], [2], "causal")
    h = torch.where(h >= 0, h, h * t(al))
    h = pool_nd(h, [3], [2], "same", False)
    h = F.pad(h, (0, 0, 2, 1))
    h = pool_nd(h, [2], [1], "valid", True)
    h = F.leaky_relu(h, 0.1)
    h = F.elu(h, 0.5)
    h = torch.softmax(h, 1)
    h = h.permute(0, 2, 1).reshape(4, -1, 2).reshape(4, -1)
    h = F.selu(h @ t(kk) + t(bb))
    h = F.softsign(h).reshape(4, 3, 2)
    h = h.amax(1, keepdim=True).mean(1)
    save("kinds1d", x, h)


ACTS2 = ["linear", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "selu", "elu", "softplus",
         "softsign", "exponential", "hard_sigmoid", "swish", "gelu", "relu6", "mish"]
ACTS3 = ACTS2 + ["silu", "leaky_relu", "hard_silu", "hard_swish", "log_sigmoid", "hard_tanh", "celu",
                 "tanh_shrink", "squareplus", "soft_shrink", "hard_shrink", "sparse_plus"]


def act_ref(name, x, keras3):
    r6 = lambda v: torch.clamp(v, 0, 6)
    return {
        "linear": lambda: x, "relu": lambda: F.relu(x), "sigmoid": lambda: torch.sigmoid(x),
        "tanh": lambda: torch.tanh(x), "softmax": lambda: torch.softmax(x, -1),
        "log_softmax": lambda: torch.log_softmax(x, -1), "selu": lambda: F.selu(x),
        "elu": lambda: F.elu(x), "softplus": lambda: F.softplus(x), "softsign": lambda: F.softsign(x),
        "exponential": lambda: torch.exp(x),
        "hard_sigmoid": lambda: r6(x + 3) / 6 if keras3 else torch.clamp(0.2 * x + 0.5, 0, 1),
        "swish": lambda: x * torch.sigmoid(x), "silu": lambda: x * torch.sigmoid(x),
        "gelu": lambda: F.gelu(x), "relu6": lambda: r6(x), "mish": lambda: x * torch.tanh(F.softplus(x)),
        "leaky_relu": lambda: F.leaky_relu(x, 0.2), "hard_silu": lambda: x * r6(x + 3) / 6,
        "hard_swish": lambda: x * r6(x + 3) / 6, "log_sigmoid": lambda: F.logsigmoid(x),
        "hard_tanh": lambda: F.hardtanh(x), "celu": lambda: F.celu(x), "tanh_shrink": lambda: F.tanhshrink(x),
        "squareplus": lambda: (x + torch.sqrt(x * x + 4)) / 2, "soft_shrink": lambda: F.softshrink(x, 0.5),
        "hard_shrink": lambda: F.hardshrink(x, 0.5),
        "sparse_plus": lambda: torch.where(x <= -1, torch.zeros_like(x), torch.where(x >= 1, x, (x + 1) ** 2 / 4)),
    }[name]()


def activations(keras3):
    """Functional: every built-in activation applied to one input, results
    concatenated; Keras 2.13 and Keras 3 layouts (hard_sigmoid differs).
    The Keras 3 one also has the merge layers, in the dict inbound form."""
    name = "acts3" if keras3 else "acts2"
    rng = np.random.default_rng(203 + keras3)
    m = Model(name, keras3, True, rng)
    x = (rng.standard_normal((5, 6)) * 3).astype(np.float32)
    shape = {"batch_shape": [None, 6]} if keras3 else {"batch_input_shape": [None, 6]}
    m.add("InputLayer", "inp", shape)
    acts = ACTS3 if keras3 else ACTS2
    outs = []
    for a in acts:
        m.add("Activation", "a_" + a, {"activation": a}, ["inp"])
        outs.append(act_ref(a, t(x), keras3))
    names = ["a_" + a for a in acts]
    if keras3:
        m.add("Subtract", "sub", {}, ["a_relu", "a_tanh"])
        m.add("Multiply", "mul", {}, ["a_relu", "a_tanh", "a_sigmoid"])
        m.add("Average", "avg", {}, ["a_relu", "a_tanh"])
        m.add("Maximum", "max", {}, ["a_relu", "a_tanh", "a_elu"])
        m.add("Minimum", "min", {}, ["a_relu", "a_tanh"])
        m.add("Add", "add", {}, ["sub", "mul", "avg"])
        m.add("LeakyReLU", "lrelu", {"negative_slope": 0.25}, ["add"])
        r, th, sg, el = (act_ref(a, t(x), True) for a in ("relu", "tanh", "sigmoid", "elu"))
        added = (r - th) + r * th * sg + (r + th) / 2
        names += ["max", "min", "lrelu"]
        outs += [torch.maximum(torch.maximum(r, th), el), torch.minimum(r, th), F.leaky_relu(added, 0.25)]
    m.add("Concatenate", "cat", {"axis": -1}, names)
    y = torch.cat(outs, -1)
    m.write(name + ".h5", "3.1.0" if keras3 else "2.13.1", False, m.config(["inp"], ["cat"]))
    save(name, x, y)


def nested2():
    """Functional, Keras 2.13 layout: a frozen nested Functional base called
    with training=False (tf.keras 2 puts the call's kwargs in each inbound
    reference), then a Dense shared by two calls (two inbound nodes; the
    second call reads node 0 of itself). The base's weights all sit in its
    group, named "<inner layer>/<weight>:0", in layer order (frozen)."""
    rng = np.random.default_rng(202)
    w = lambda *s: (rng.standard_normal(s) * 0.5).astype(np.float32)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    k1, b1, k2, b2, ks, bs, ko, bo = w(6, 5), w(5), w(5, 4), w(4), w(4, 4), w(4), w(4, 3), w(3)

    def dense(name, units, act, trainable=True):
        return {"name": name, "trainable": trainable, "dtype": "float32", "units": units, "activation": act, "use_bias": True}
    base = {"class_name": "Functional", "config": {"name": "base", "trainable": False, "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 6], "dtype": "float32", "sparse": False, "ragged": False, "name": "input_2"}, "name": "input_2", "inbound_nodes": []},
        {"class_name": "Dense", "config": dense("d1", 5, "relu", False), "name": "d1", "inbound_nodes": [[["input_2", 0, 0, {}]]]},
        {"class_name": "Dense", "config": dense("d2", 4, "linear", False), "name": "d2", "inbound_nodes": [[["d1", 0, 0, {}]]]}],
        "input_layers": [["input_2", 0, 0]], "output_layers": [["d2", 0, 0]]},
        "name": "base", "inbound_nodes": [[["input_1", 0, 0, {"training": False}]]]}
    cfg = {"class_name": "Functional", "config": {"name": "nested2", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 6], "dtype": "float32", "sparse": False, "ragged": False, "name": "input_1"}, "name": "input_1", "inbound_nodes": []},
        base,
        {"class_name": "Dense", "config": dense("sh", 4, "tanh"), "name": "sh", "inbound_nodes": [[["base", 0, 0, {}]], [["sh", 0, 0, {}]]]},
        {"class_name": "Dense", "config": dense("out", 3, "softmax"), "name": "out", "inbound_nodes": [[["sh", 1, 0, {}]]]}],
        "input_layers": [["input_1", 0, 0]], "output_layers": [["out", 0, 0]]}}
    with h5py.File("nested2.h5", "w") as f:
        f.attrs["keras_version"] = "2.13.1"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(cfg)
        g = f.create_group("model_weights")
        str_attr = lambda obj, key, vals: obj.attrs.create(key, vals, dtype=h5py.string_dtype()) if vals else obj.attrs.create(key, np.zeros((0,)))
        str_attr(g, "layer_names", ["input_1", "base", "sh", "out"])
        g.attrs["keras_version"], g.attrs["backend"] = "2.13.1", "tensorflow"
        for name, ws in [("input_1", []), ("base", [("d1/kernel:0", k1), ("d1/bias:0", b1), ("d2/kernel:0", k2), ("d2/bias:0", b2)]),
                         ("sh", [("sh/kernel:0", ks), ("sh/bias:0", bs)]), ("out", [("out/kernel:0", ko), ("out/bias:0", bo)])]:
            lg = g.create_group(name)
            for wn, arr in ws:
                lg.create_dataset(wn, data=arr)
            str_attr(lg, "weight_names", [wn for wn, _ in ws])
        str_attr(g.create_group("top_level_model_weights"), "weight_names", [])
    h = torch.relu(t(x) @ t(k1) + t(b1)) @ t(k2) + t(b2)
    h = torch.tanh(h @ t(ks) + t(bs))
    h = torch.tanh(h @ t(ks) + t(bs))
    save("nested2", x, torch.softmax(h @ t(ko) + t(bo), -1))


if __name__ == "__main__":
    kinds2d()
    kinds1d()
    activations(False)
    activations(True)
    nested2()
