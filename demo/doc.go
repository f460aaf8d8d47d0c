// Package demo runs the transfer-learning experiment of chapter 11 of
// Géron's Hands-On Machine Learning (notebook
// ageron/handson-ml2/11_training_deep_neural_networks.ipynb) end to end.
//
// Model A (Flatten, Dense 300-100-50-50-50 SELU, Dense 8 softmax; Keras
// default initializers glorot_uniform and zeros) learns the 8 Fashion-MNIST
// classes other than sandal and shirt for 20 epochs (SGD, learning rate
// 1e-3, batch 32). Model B, the same architecture with one sigmoid unit,
// learns sandal vs shirt from 200 images for 20 epochs. Model B on A reuses
// A's hidden layers with a new sigmoid head: 4 epochs with the reused layers
// frozen, then 16 with everything trainable. The book reports test accuracy
// 0.9705 for B and 0.9940 for B on A; the gain depends on the seed, so Run
// can repeat B and B on A over several seeds and summarise.
package demo
