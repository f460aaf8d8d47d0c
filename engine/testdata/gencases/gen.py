import numpy as np, torch, torch.nn.functional as F, math, sys
np.set_printoptions(precision=10)
def fl(v): 
    v=float(v)
    if math.isnan(v): return "float32(math.NaN())"
    if math.isinf(v): return "float32(math.Inf(%d))"%(1 if v>0 else -1)
    s=str(np.float32(v))
    return s
GODT={np.dtype(np.int32):"model.Int32",np.dtype(np.int8):"model.Int8",np.dtype(np.uint8):"model.Uint8",
      np.dtype(np.int16):"model.Int16",np.dtype(np.uint16):"model.Uint16",np.dtype(np.uint32):"model.Uint32",
      np.dtype(np.uint64):"model.Uint64",np.dtype(np.bool_):"model.Bool",
      np.dtype(np.float16):"model.Float16",np.dtype(np.float64):"model.Float64"}
def T(a):
    a=np.asarray(a)
    shape="[]int{"+", ".join(str(d) for d in a.shape)+"}"
    if a.dtype==np.int64:
        return "i64(%s%s)"%(shape, "".join(", %d"%v for v in a.ravel()))
    if a.dtype.kind in 'iub':
        vals=a.view(np.int64) if a.dtype==np.uint64 else a  # uint64 held as its int64 bit pattern
        return "ti(%s, %s%s)"%(GODT[a.dtype], shape, "".join(", %d"%int(v) for v in vals.ravel()))
    if a.dtype in (np.float16,) or (a.dtype==np.float64 and getattr(a,'keep64',False)):
        return "tf(%s, %s%s)"%(GODT[a.dtype], shape, "".join(", "+fl(v) for v in a.ravel()))
    a=a.astype(np.float32)
    return "f32(%s%s)"%(shape, "".join(", "+fl(v) for v in a.ravel()))
def attrs(d):
    if not d: return "nil"
    parts=[]
    for k,v in d.items():
        if isinstance(v,str): parts.append('"%s": model.String(%r)'%(k,v) if False else '"%s": model.String("%s")'%(k,v))
        elif isinstance(v,float): parts.append('"%s": model.Float(%s)'%(k,repr(v)))
        elif isinstance(v,int): parts.append('"%s": model.Int(%d)'%(k,v))
        elif isinstance(v,list): parts.append('"%s": model.Ints(%s)'%(k,", ".join(str(x) for x in v)))
    return "map[string]model.Attr{"+", ".join(parts)+"}"
def case(name, op, opset, at, ins, want, consts=None):
    s='\t\t{name: "%s", op: "%s", opset: %d, attrs: %s,\n\t\t\tins: []*model.Tensor{%s},\n'%(name,op,opset,attrs(at),", ".join("nil" if i is None else T(i) for i in ins))
    if consts: s+='\t\t\tconsts: []int{%s},\n'%", ".join(map(str,consts))
    s+='\t\t\twant: []*model.Tensor{%s}},\n'%", ".join(T(w) for w in want)
    return s
rng=np.random.default_rng(7)
def r(*shape): return np.round(rng.standard_normal(shape).astype(np.float32),3)
f32=np.float32
