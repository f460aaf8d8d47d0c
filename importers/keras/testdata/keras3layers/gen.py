#!/usr/bin/python3
"""Writes the real-Keras fixtures of the layers issue 15 adds (SeparableConv,
Conv*Transpose, UpSampling, Cropping, Normalization, Embedding, recurrent
layers, Bidirectional, TimeDistributed, LayerNormalization, Keras 3 operation
nodes), each as NAME.h5 and NAME.keras (operation nodes: .keras only, Keras
cannot reload its own .h5 of them) with NAME_input.npy and NAME_pred.npy
(Keras's model.predict), and manifest.json in the layout of
../../../../../shared/interop/keras-apps/manifest.json.

Needs the Keras 3 runtime (see TEAM.md); run from this directory:

    . /tmp/keras-runtime/env.sh
    PYTHONPATH=$KERAS_PYTHONPATH /usr/bin/python3 gen.py

Weights are Keras's initializers plus N(0, 0.2) noise on every float weight
(so biases are not zero), seeded per model; Normalization's mean/variance
come from adapt() on the input batch.
"""
import collections
import hashlib
import json
import os

import numpy as np
import keras
from keras import layers, ops

SEED = 1515


def rng_for(name):
    return np.random.default_rng(SEED + int(hashlib.sha256(name.encode()).hexdigest()[:6], 16))


def perturb(model, rng):
    for layer in model.layers:
        ws = layer.get_weights()
        if not ws or isinstance(layer, layers.Normalization):
            continue  # adapted statistics; set_weights would not reach its mean
        out = []
        for w in ws:
            if w.dtype.kind == "f":
                w = w + rng.normal(0, 0.2, w.shape).astype(w.dtype)
            out.append(w)
        layer.set_weights(out)


def images(rng, *shape):
    return rng.normal(0, 1, shape).astype(np.float32)


MODELS = []


def model(fn):
    MODELS.append(fn)
    return fn


@model
def sepconv2d(rng):
    x = keras.Input((9, 9, 3))
    y = layers.SeparableConv2D(4, 3, strides=2, padding="same", depth_multiplier=2, activation="relu")(x)
    y = layers.SeparableConv2D(5, (3, 2), dilation_rate=(2, 1), padding="valid")(y)
    y = layers.Flatten()(y)
    return keras.Model(x, layers.Dense(3)(y)), images(rng, 3, 9, 9, 3)


@model
def sepconv1d(rng):
    m = keras.Sequential([keras.Input((12, 3)),
                          layers.SeparableConv1D(4, 3, padding="same", depth_multiplier=2),
                          layers.SeparableConv1D(3, 4, strides=2, use_bias=False, activation="tanh"),
                          layers.GlobalAveragePooling1D()])
    return m, images(rng, 3, 12, 3)


@model
def normalization(rng):
    data = images(rng, 3, 4, 5) * 3 + 1
    x = keras.Input((4, 5))
    a = layers.Normalization(axis=-1)
    a.adapt(data)
    c = layers.Normalization(mean=2.0, variance=3.0)
    d = layers.Normalization(axis=-1, mean=[1, 2, 3, 4, 5], variance=[1, 4, 9, 0.25, 2], invert=True)
    ys = [layers.Flatten()(n(x)) for n in (a, c, d)]
    return keras.Model(x, layers.Concatenate()(ys)), data


@model
def normalization_axes(rng):
    data = images(rng, 3, 4, 5) * 2 - 1
    x = keras.Input((4, 5))
    b = layers.Normalization(axis=(1, 2))
    b.adapt(data)
    e = layers.Normalization(axis=1, mean=[0.5, 1, 1.5, 2], variance=[1, 2, 3, 4])
    return keras.Model(x, layers.Add()([b(x), e(x)])), data


@model
def embedding(rng):
    x = keras.Input((6,), dtype="int32")
    y = layers.Embedding(20, 4)(x)
    y = layers.Flatten()(y)
    return keras.Model(x, layers.Dense(2, activation="softmax")(y)), rng.integers(0, 20, (4, 6)).astype(np.float32)


@model
def operations(rng):
    x = keras.Input((3, 4))
    z = keras.Input((3, 4))
    outs = [x + 3.0, 3.0 - x, x * 2.5, x / 4.0, x - 1.5, ops.maximum(x, 0.5), ops.minimum(0.25, x),
            ops.relu6(x * 4.0), ops.sigmoid(x), ops.tanh(x), ops.negative(x), ops.exp(x), ops.silu(x),
            ops.sqrt(ops.abs(x)), ops.square(x), x * z, x - z, x + z, x / (ops.abs(z) + 1.0),
            ops.hard_silu(x), ops.hard_sigmoid(x), x * np.array([1, -2, 0.5, 3], dtype="float32")]
    y = layers.Concatenate()([layers.Flatten()(o) for o in outs])
    return keras.Model([x, z], y), [images(rng, 2, 3, 4), images(rng, 2, 3, 4)]


@model
def conv_transpose2d(rng):
    x = keras.Input((5, 6, 3))
    y = layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")(x)
    y = layers.Conv2DTranspose(3, (3, 2), strides=(2, 3), padding="valid", output_padding=(1, 0))(y)
    y = layers.Conv2DTranspose(2, (2, 3), strides=(3, 1), padding="same", output_padding=(2, 0))(y)
    y = layers.Conv2DTranspose(2, 3, dilation_rate=2, padding="same", use_bias=False)(y)
    y = layers.Conv2DTranspose(2, 1, strides=3, padding="valid")(y)
    return keras.Model(x, layers.GlobalAveragePooling2D()(y)), images(rng, 2, 5, 6, 3)


@model
def conv_transpose1d(rng):
    m = keras.Sequential([keras.Input((7, 3)),
                          layers.Conv1DTranspose(4, 3, strides=2, padding="same"),
                          layers.Conv1DTranspose(3, 4, strides=3, padding="valid", output_padding=2, activation="tanh"),
                          layers.Conv1DTranspose(2, 5, strides=1, padding="same"),
                          layers.Flatten()])
    return m, images(rng, 2, 7, 3)


@model
def resampling(rng):
    x = keras.Input((6, 7, 2))
    a = layers.Cropping2D(((1, 2), (0, 3)))(x)
    a = layers.UpSampling2D((2, 3), interpolation="bilinear")(a)
    b = layers.Cropping2D(1)(x)
    b = layers.UpSampling2D(2)(b)
    c = layers.Reshape((42, 2))(x)
    c = layers.Cropping1D((2, 5))(c)
    c = layers.UpSampling1D(3)(c)
    c = layers.Cropping1D(1)(c)
    ys = [layers.Flatten()(v) for v in (a, b, c)]
    return keras.Model(x, layers.Concatenate()(ys)), images(rng, 2, 6, 7, 2)


@model
def recurrent(rng):
    x = keras.Input((6, 4))
    a = layers.SimpleRNN(5, return_sequences=True)(x)
    a = layers.SimpleRNN(3, go_backwards=True, activation="relu")(a)
    b = layers.LSTM(5, return_sequences=True, go_backwards=True)(x)
    b = layers.LSTM(4, activation="relu", recurrent_activation="hard_sigmoid", use_bias=False)(b)
    c = layers.GRU(4, return_sequences=True, reset_after=False)(x)
    c = layers.GRU(3, go_backwards=True)(c)
    return keras.Model(x, layers.Concatenate()([a, b, c])), images(rng, 3, 6, 4)


@model
def bidirectional(rng):
    x = keras.Input((5, 3))
    a = layers.Bidirectional(layers.LSTM(4, return_sequences=True), merge_mode="sum")(x)
    a = layers.Bidirectional(layers.GRU(3, return_sequences=True), merge_mode="mul")(a)
    a = layers.Bidirectional(layers.SimpleRNN(2), merge_mode="ave")(a)
    b = layers.Bidirectional(layers.GRU(3, reset_after=False), merge_mode="concat")(x)
    return keras.Model(x, layers.Concatenate()([a, b])), images(rng, 3, 5, 3)


@model
def time_distributed(rng):
    x = keras.Input((4, 6, 6, 2))
    y = layers.TimeDistributed(layers.Conv2D(3, 3, strides=2, padding="same", activation="relu"))(x)
    y = layers.TimeDistributed(layers.Flatten())(y)
    y = layers.TimeDistributed(layers.Dense(5, activation="tanh"))(y)
    y = layers.LSTM(3)(y)
    return keras.Model(x, y), images(rng, 2, 4, 6, 6, 2)


# Keras cannot reload its own .h5 of these: operation nodes are written as
# layers with a float argument; a Normalization over several axes comes back
# with the shape of one.
MODELS_H5_REFUSED = {"operations", "normalization_axes"}


def count_params(ws):
    return int(sum(np.prod(w.shape) for w in ws))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    manifest = {"generator": "gen.py", "keras_version": keras.__version__, "backend": keras.backend.backend(), "models": []}
    for fn in MODELS:
        name = fn.__name__
        rng = rng_for(name)
        keras.utils.set_random_seed(SEED)
        m, x = fn(rng)
        perturb(m, rng)
        pred = np.asarray(m.predict(x, verbose=0), dtype=np.float32)
        files = {"keras": name + ".keras"}
        m.save(os.path.join(here, name + ".keras"))
        if name not in MODELS_H5_REFUSED:
            files["h5"] = name + ".h5"
            m.save(os.path.join(here, name + ".h5"))
        if isinstance(x, list):
            for i, xi in enumerate(x):
                files["input%d" % i] = "%s_input%d.npy" % (name, i)
                np.save(os.path.join(here, files["input%d" % i]), xi)
        else:
            files["input"] = name + "_input.npy"
            np.save(os.path.join(here, files["input"]), x)
        files["pred"] = name + "_pred.npy"
        np.save(os.path.join(here, files["pred"]), pred)
        cfg = json.loads(m.to_json())["config"]["layers"]
        nodes = collections.Counter(
            ("ops." if l.get("module", "").startswith("keras.src.ops") else "") + l["class_name"] for l in cfg)
        for f in files.values():
            if f.endswith(".keras") or f.endswith(".h5"):
                back = keras.saving.load_model(os.path.join(here, f), compile=False)
                again = np.asarray(back.predict(x, verbose=0), dtype=np.float32)
                assert np.array_equal(again, pred), (name, f)
        manifest["models"].append({
            "name": name,
            "layers": len(m.layers),
            "layer_classes": dict(collections.Counter(type(l).__name__ for l in m.layers)),
            "config_nodes": dict(nodes),
            "params": {"total": m.count_params(), "trainable": count_params(m.trainable_weights),
                       "non_trainable": count_params(m.non_trainable_weights)},
            "files": files,
        })
        print(name, m.count_params(), pred.shape)
    with open(os.path.join(here, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
