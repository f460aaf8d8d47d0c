# Generates the Keras reference outputs the dataset tests compare with:
# Keras 3's augmentation layers' transforms (RandomRotation, RandomZoom,
# RandomTranslation, RandomContrast, RandomFlip) applied with fixed
# parameters, and keras.ops.image.resize (bilinear). Run with Keras 3
# (numpy backend is enough):
#   . /tmp/keras-runtime/env.sh; PYTHONPATH=$KERAS_PYTHONPATH /usr/bin/python3 dataset/testdata/keras/gen.py
import os
import numpy as np
import keras
from keras import layers

out = os.path.dirname(os.path.abspath(__file__))
h, w, c = 7, 9, 2
img = ((np.arange(h * w * c, dtype=np.float32) * 37) % 251).reshape(1, h, w, c)
np.save(os.path.join(out, "input.npy"), img[0])

def save(name, x):
    np.save(os.path.join(out, name + ".npy"), np.asarray(x, dtype=np.float32)[0])

for deg in (30.0, -17.5):
    rot = layers.RandomRotation(0.2)
    m = rot._compute_affine_matrix(center_x=0.5, center_y=0.5, angle=np.array([deg], np.float32),
        translate_x=np.zeros(1, np.float32), translate_y=np.zeros(1, np.float32), scale=np.ones(1, np.float32),
        shear_x=np.zeros(1, np.float32), shear_y=np.zeros(1, np.float32), height=h, width=w)
    save("rotate_%g" % deg, rot.transform_images(img, {"rotation_matrix": m}, training=True))
for z in (1.2, 0.85):
    zl = layers.RandomZoom(0.3)
    save("zoom_%g" % z, zl.transform_images(img, {"height_zoom": np.array([[z]], np.float32), "width_zoom": np.array([[z]], np.float32), "input_shape": img.shape}, training=True))
for dx, dy in ((1.5, -2.25), (-3.0, 0.7)):
    tl = layers.RandomTranslation(0.5, 0.5)
    save("translate_%g_%g" % (dx, dy), tl.transform_images(img, {"translations": np.array([[dx, dy]], np.float32), "input_shape": img.shape}, training=True))
for f in (1.3, 0.6):
    cl = layers.RandomContrast(0.5)
    save("contrast_%g" % f, cl.transform_images(img * 1.1, {"contrast_factor": np.array([[[[f]]]], np.float32)}, training=True))
fl = layers.RandomFlip()
save("flip", fl.transform_images(img, {"flips": np.array([[[[True]]]]), "input_shape": img.shape}, training=True))
for (oh, ow) in ((4, 5), (12, 20), (7, 4)):
    save("resize_%dx%d" % (oh, ow), keras.ops.image.resize(img, (oh, ow), interpolation="bilinear"))
