import numpy as np, torch, torch.nn.functional as F, math, sys
np.set_printoptions(precision=10)
def fl(v): 
    v=float(v)
    if math.isnan(v): return "float32(math.NaN())"
    s=str(np.float32(v))
    return s
def T(a):
    a=np.asarray(a)
    shape="[]int{"+", ".join(str(d) for d in a.shape)+"}"
    if a.dtype.kind in 'iu':
        return "i64(%s%s)"%(shape, "".join(", %d"%v for v in a.ravel()))
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
