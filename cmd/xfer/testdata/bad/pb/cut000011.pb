
BxJP