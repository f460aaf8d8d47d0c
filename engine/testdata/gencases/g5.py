import os; exec(open(os.path.join(os.path.dirname(__file__), 'gen.py')).read())
# Convolutions whose begin padding exceeds output size x stride: whole
# im2col rows fall in the padding (pytorch-converted test_Conv1d_pad2size1,
# mobilenet_v3_small at 32x32 used to crash the engine).
tt=lambda a: torch.from_numpy(np.ascontiguousarray(a)).double()
nn=lambda t: t.numpy()
out=[]
x=r(1,4,1); w=r(4,4,5); b=r(4)
out.append(case("conv1d pad 2 size 1 kernel 5","Conv",11,{"pads":[2,2]},[x,w,b],[nn(F.conv1d(tt(x),tt(w),tt(b),padding=2))]))
x=r(1,2,1,2); w=r(3,2,3,3)
out.append(case("conv2d pads 3 stride 2 on 1x2","Conv",11,{"pads":[3,3,3,3],"strides":[2,2]},[x,w],[nn(F.conv2d(tt(x),tt(w),stride=2,padding=3))]))
x=r(2,1,2); w=r(2,1,2)
out.append(case("conv1d stride 3 pad 4 on size 2","Conv",11,{"pads":[4,4],"strides":[3]},[x,w],[nn(F.conv1d(tt(x),tt(w),stride=3,padding=4))]))
x=r(1,3,2,2); w=r(3,1,3,3)
out.append(case("depthwise pads 2 dilation 2 on 2x2","Conv",11,{"pads":[2,2,2,2],"dilations":[2,2],"group":3},[x,w],[nn(F.conv2d(tt(x),tt(w),padding=2,dilation=2,groups=3))]))
print("// Cases computed with PyTorch 1.13 F.conv*d in float64 (/usr/bin/python3, engine/testdata/gencases/g5.py, seed 7).\nvar convPadCases = []opCase{\n"+"".join(out)+"}")
