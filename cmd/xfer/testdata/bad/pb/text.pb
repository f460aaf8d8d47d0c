this is a text file, not a model or a tensor
